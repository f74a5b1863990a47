/* keys: the one table of keys; dispatch, the key bar and the help screen all read it. */
#include <curses.h>

#include "app.h"

const yv_key yv_keys[] = {
    {L'r', 0, "r", "Run", "start the selected VM", ACT_RUN, true},
    {L's', 0, "s", "Stop", "shut the guest down (ACPI), escalating after shutdown.timeout",
     ACT_SHUTDOWN, true},
    {L'K', 0, "K", "Kill", "force stop: QEMU quits at once (asks first)", ACT_FORCE, true},
    {L'c', 0, "c", "Create", "create a VM (empty disk, or copy/overlay of a base image)",
     ACT_CREATE, true},
    {L'p', 0, "p", "Preset", "create a VM from a preset (cloud image + cloud-init)", ACT_PRESET,
     true},
    {L'D', 0, "D", "Delete", "delete the selected VM and its disks (asks first)", ACT_DELETE, true},
    {L'n', 0, "n", "NetUp", "attach the running VM's TAP to its bridge again", ACT_NET_UP, false},
    {L'N', 0, "N", "NetDown", "detach the running VM's TAP from its bridge (asks first)",
     ACT_NET_DOWN, false},
    {L'\n', KEY_ENTER, "Enter", "Info", "details: config, QMP status, qemu.log and serial.log",
     ACT_DETAILS, false},
    {L'/', 0, "/", "Filter", "filter the list by name (Esc clears)", ACT_FILTER, true},
    {L'?', KEY_F(1), "?", "Help", "this help", ACT_HELP, true},
    {L'q', KEY_F(10), "q", "Quit", "quit (running VMs keep running)", ACT_QUIT, true},
};
const int yv_nkeys = (int)(sizeof yv_keys / sizeof yv_keys[0]);

yv_action yv_keys_lookup(wint_t ch, bool is_key)
{
    for (int i = 0; i < yv_nkeys; i++) {
        if (is_key && yv_keys[i].code && (int)ch == yv_keys[i].code) return yv_keys[i].act;
        if (!is_key && yv_keys[i].ch && ch == yv_keys[i].ch) return yv_keys[i].act;
    }
    return ACT_NONE;
}
