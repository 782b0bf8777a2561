/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `netlens top`'s model: the latest summaries of every module (handed over
 * by capture sinks, src/output/output.h) and per-process figures from the
 * records, as tables the screen and the snapshot print.
 */
#ifndef NETLENS_TOP_MODEL_H
#define NETLENS_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

enum top_view { TOP_DESTS, TOP_DROPS, TOP_DNS, TOP_PROCS, TOP_FLOWS, TOP_VIEWS };

#define TOP_MAX_COLS  10
#define TOP_CELL_LEN  96
/* Keys kept per table; updates of keys beyond it are counted (top_model_folded()), not shown. */
#define TOP_MAX_ROWS  4096

struct top_col {
	const char *name;
	int width;                 /* printed width; a text column at the end takes the rest */
	bool num;                  /* right-aligned, sorts by value, largest first */
};

struct top_row {
	char cell[TOP_MAX_COLS][TOP_CELL_LEN];
	double val[TOP_MAX_COLS];  /* sort keys of numeric columns */
};

struct top_table {
	const char *title;
	const struct top_col *cols;
	int ncols;
	int sort_col;              /* default sort column */
	struct top_row *rows;
	size_t n, cap;
	const char *empty;         /* what an empty view says */
};

struct top_model;

struct top_model *top_model_new(void);
void top_model_free(struct top_model *m);
/* One line a module's sink produced (module: its name, "conns", ...). */
void top_model_take(struct top_model *m, const char *module, struct json_object *o);
/* After every module's collect: closes the second (rates are over dt seconds). */
void top_model_tick(struct top_model *m, double dt);
/* Updates of rows not kept because their table was full, since start. */
uint64_t top_model_folded(const struct top_model *m);

/*
 * The view's rows, filtered (case-insensitive substring of any cell; NULL
 * or "" keeps all) and sorted by column sort (-1: the view's default),
 * reversed when asked. The table is rebuilt in t (emptied first).
 */
void top_model_table(const struct top_model *m, enum top_view v, struct top_table *t,
		     const char *filter, int sort, bool reverse);
void top_table_free(struct top_table *t);
const char *top_view_name(enum top_view v);

/*
 * One line of t into buf (at most width characters, NUL-terminated): the
 * header when row is NULL. Columns are cut to their width; a text column
 * at the end takes what is left.
 */
void top_table_line(const struct top_table *t, const struct top_row *row, char *buf, size_t width);
/* Plain text: the title, the header and every row, at most width columns. */
void top_table_print(const struct top_table *t, FILE *out, size_t width);

#endif
