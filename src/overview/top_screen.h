/* SPDX-License-Identifier: GPL-2.0 */
/* `netlens top`'s full-screen view (ncurses): findings over one table, keys. */
#ifndef NETLENS_TOP_SCREEN_H
#define NETLENS_TOP_SCREEN_H

#include <stdbool.h>
#include "framework/finding.h"
#include "overview/top_model.h"

#define TOP_FILTER_LEN 64

struct top_ui {
	enum top_view view;
	int sort[TOP_VIEWS];          /* the sort column per view; -1: the view's default */
	bool reverse;
	char filter[TOP_FILTER_LEN];
	char edit[TOP_FILTER_LEN];    /* the filter being typed after '/' */
	bool editing, paused, help;
	unsigned int scroll;          /* first row shown */
	struct top_table table;       /* the rows on screen */
	struct screen *term;          /* ncurses' SCREEN */
};

enum top_key_result { TOP_KEY_NONE, TOP_KEY_REDRAW, TOP_KEY_QUIT };

/*
 * Takes the terminal (stdin, stdout, $TERM): 0, or -1 when it cannot be
 * driven, e.g. an unknown $TERM (then nothing changed).
 */
int top_screen_start(struct top_ui *ui);
/* Gives the terminal back as it was. */
void top_screen_end(struct top_ui *ui);
/* Reads the pending keys: what the caller must do. */
enum top_key_result top_screen_keys(struct top_ui *ui);
/* Rebuilds the table from m (sorted, filtered) and draws everything. */
void top_screen_draw(struct top_ui *ui, const struct top_model *m, const struct nl_findings *f,
		     const char *status);

#endif
