/* runtime/objects.h: helpers around tables, globals, functions and values that the runtime's
 * files share (private to libwasmslot). */
#ifndef WASMSLOT_OBJECTS_H
#define WASMSLOT_OBJECTS_H

#include "runtime/runtime.h"

/* Largest table the engine makes or grows to. The spec allows 2^32-1 entries, but a table of
 * pointers that size is 32 GiB; an implementation limit keeps a guest's table.grow from
 * exhausting the host (table.grow then returns -1, as it does past a declared maximum). */
#define WASMSLOT_TABLE_MAX_ENTRIES 10000000u

/* A typed value in the one-cell form used by globals and the interpreter. */
wasmslot_cell wasmslot_value__to_cell(const struct wasmslot_value *v);

/* The typed value of cell c, which holds a value of type `type`. */
void wasmslot_value__from_cell(struct wasmslot_value *out, enum wasmslot_valtype type,
                               wasmslot_cell c);

/* Free a list of failed instances kept alive by a table or global (linked through
 * next_orphan), when that keeper goes. Accepts NULL. */
void wasmslot_instance__free_orphans(struct wasmslot_instance *list);

#endif
