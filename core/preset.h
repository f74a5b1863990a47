/* preset: <root>/<preset>.preset/config.yaml (spec §4). Parsing only for now. */
#ifndef YV_PRESET_H
#define YV_PRESET_H

#include "err.h"

typedef struct {
    char *name;     /* without .preset */
    char *cloudimg; /* absolute, or relative to the root's working directory as resolved */
} yv_preset;

/* `name` may be NAME or NAME.preset. Missing → PRESET_NOT_FOUND; broken → CONFIG_INVALID. */
int yv_preset_load(yv_preset *p, const char *root, const char *name, yv_err *err);
int yv_preset_load_string(yv_preset *p, const char *file, const char *text, const char *dir,
                          yv_err *err);
void yv_preset_done(yv_preset *p);

#endif
