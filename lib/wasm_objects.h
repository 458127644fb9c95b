/* wasm_objects.h: helpers around tables, globals, functions and values that the runtime's
 * files share (private to libwasmslot). */
#ifndef WASM_OBJECTS_H
#define WASM_OBJECTS_H

#include "wasm_runtime.h"

/* Largest table the engine makes or grows to. The spec allows 2^32-1 entries, but a table of
 * pointers that size is 32 GiB; an implementation limit keeps a guest's table.grow from
 * exhausting the host (table.grow then returns -1, as it does past a declared maximum). */
#define WASM_TABLE_MAX_ENTRIES 10000000u

/* A typed value in the one-cell form used by globals and the interpreter. */
wasm_cell wasm_value__to_cell(const struct wasm_value *v);

/* The typed value of cell c, which holds a value of type `type`. */
void wasm_value__from_cell(struct wasm_value *out, enum wasm_valtype type, wasm_cell c);

/* Free a list of failed instances kept alive by a table or global (linked through
 * next_orphan), when that keeper goes. Accepts NULL. */
void wasm_instance__free_orphans(struct wasm_instance *list);

#endif
