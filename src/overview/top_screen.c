// SPDX-License-Identifier: GPL-2.0
/*
 * `netlens top`'s screen (src/overview/top_screen.h). ncurses handles
 * SIGWINCH itself (it installs its handler in newterm() when none is set)
 * and reports a resize as KEY_RESIZE; every draw starts from the current
 * LINES and COLS, so a resize at any moment is only a redraw.
 */
#include <ctype.h>
#include <curses.h>
#include <string.h>
#include "overview/top_screen.h"

enum { PAIR_CRITICAL = 1, PAIR_WARNING, PAIR_NOTICE };

#define KEY_ESC    27
#define MIN_FINDINGS_LINES 1

static const char *const tab_names[TOP_VIEWS] = {
	[TOP_DESTS] = "Destinations", [TOP_DROPS] = "Drops", [TOP_DNS] = "DNS",
	[TOP_PROCS] = "Processes", [TOP_FLOWS] = "Flows",
};

static const char *const help_lines[] = {
	"netlens top: keys",
	"",
	"  1-5, Tab        views: destinations, drops, DNS, processes, flows",
	"  s, >            sort by the next column;  <  by the previous one",
	"  r               reverse the order",
	"  /               filter: type text, Enter applies, Esc cancels (empty: all)",
	"  space, p        pause (nothing is collected until resumed)",
	"  Up/Down, PgUp/PgDn, j/k   scroll",
	"  h, ?            this help (any key closes it)",
	"  q, Ctrl-C       quit (the terminal is restored, every BPF program detached)",
	"",
	"Findings: most severe first; red critical, yellow warning, cyan notice.",
};

int top_screen_start(struct top_ui *ui)
{
	for (int v = 0; v < TOP_VIEWS; v++)
		ui->sort[v] = -1;
	/* newterm(), not initscr(): initscr() exits the process when $TERM is unknown. */
	ui->term = newterm(NULL, stdout, stdin);
	if (!ui->term)
		return -1;
	set_term(ui->term);
	cbreak();             /* Ctrl-C still raises SIGINT: the loop stops as for SIGTERM */
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_CRITICAL, COLOR_RED, -1);
		init_pair(PAIR_WARNING, COLOR_YELLOW, -1);
		init_pair(PAIR_NOTICE, COLOR_CYAN, -1);
	}
	return 0;
}

void top_screen_end(struct top_ui *ui)
{
	endwin();
	delscreen(ui->term);
	top_table_free(&ui->table);
}

static void set_view(struct top_ui *ui, int v)
{
	ui->view = (enum top_view)v;
	ui->scroll = 0;
}

static void move_sort(struct top_ui *ui, int step)
{
	int n = ui->table.ncols;
	int cur = ui->sort[ui->view] >= 0 ? ui->sort[ui->view] : ui->table.sort_col;

	if (n)
		ui->sort[ui->view] = (cur + step + n) % n;
}

/* A key while typing the filter. */
static enum top_key_result edit_key(struct top_ui *ui, int ch)
{
	size_t len = strlen(ui->edit);

	if (ch == '\n' || ch == KEY_ENTER || ch == '\r') {
		memcpy(ui->filter, ui->edit, sizeof(ui->filter));
		ui->editing = false;
		ui->scroll = 0;
	} else if (ch == KEY_ESC) {
		ui->editing = false;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == '\b') {
		if (len)
			ui->edit[len - 1] = '\0';
	} else if (ch < 256 && isprint(ch) && len + 1 < sizeof(ui->edit)) {
		ui->edit[len] = (char)ch;
		ui->edit[len + 1] = '\0';
	}
	return TOP_KEY_REDRAW;
}

static enum top_key_result key(struct top_ui *ui, int ch)
{
	if (ui->editing)
		return edit_key(ui, ch);
	if (ui->help) {
		ui->help = false;
		return ch == 'q' ? TOP_KEY_QUIT : TOP_KEY_REDRAW;
	}
	switch (ch) {
	case 'q': case 'Q':   /* Ctrl-C is SIGINT (cbreak), handled as SIGTERM is */
		return TOP_KEY_QUIT;
	case '1': case '2': case '3': case '4': case '5':
		set_view(ui, ch - '1');
		break;
	case '\t':
		set_view(ui, (ui->view + 1) % TOP_VIEWS);
		break;
	case KEY_BTAB:
		set_view(ui, (ui->view + TOP_VIEWS - 1) % TOP_VIEWS);
		break;
	case 's': case '>':
		move_sort(ui, 1);
		break;
	case '<':
		move_sort(ui, -1);
		break;
	case 'r':
		ui->reverse = !ui->reverse;
		break;
	case '/':
		ui->editing = true;
		memcpy(ui->edit, ui->filter, sizeof(ui->edit));
		break;
	case ' ': case 'p':
		ui->paused = !ui->paused;
		break;
	case 'h': case '?':
		ui->help = true;
		break;
	case KEY_DOWN: case 'j':
		ui->scroll++;
		break;
	case KEY_UP: case 'k':
		if (ui->scroll)
			ui->scroll--;
		break;
	case KEY_NPAGE:
		ui->scroll += (unsigned int)(LINES > 2 ? LINES / 2 : 1);
		break;
	case KEY_PPAGE:
		ui->scroll = ui->scroll > (unsigned int)LINES / 2 ? ui->scroll - LINES / 2 : 0;
		break;
	case KEY_RESIZE:
		break;
	default:
		return TOP_KEY_NONE;
	}
	return TOP_KEY_REDRAW;
}

enum top_key_result top_screen_keys(struct top_ui *ui)
{
	enum top_key_result res = TOP_KEY_NONE;
	int ch;

	while ((ch = getch()) != ERR) {
		enum top_key_result r = key(ui, ch);

		if (r == TOP_KEY_QUIT)
			return r;
		if (r > res)
			res = r;
	}
	return res;
}

/* At most COLS characters of text at (y, x). */
static void put(int y, int x, const char *text)
{
	if (y < LINES && x < COLS)
		mvaddnstr(y, x, text, COLS - x);
}

static int severity_pair(enum nl_severity s)
{
	return s == NL_SEV_CRITICAL ? PAIR_CRITICAL : s == NL_SEV_WARNING ? PAIR_WARNING :
	       PAIR_NOTICE;
}

static void draw_tabs(const struct top_ui *ui)
{
	int x = 0;

	attron(A_REVERSE);
	mvhline(0, 0, ' ', COLS);
	put(0, x, " netlens top ");
	x += 13;
	for (int v = 0; v < TOP_VIEWS && x < COLS; v++) {
		char tab[32];

		snprintf(tab, sizeof(tab), " %d %s ", v + 1, tab_names[v]);
		if (v == (int)ui->view)
			attroff(A_REVERSE);
		put(0, x, tab);
		if (v == (int)ui->view)
			attron(A_REVERSE);
		x += (int)strlen(tab);
	}
	attroff(A_REVERSE);
}

/* The findings from line y; returns the next free line. */
static int draw_findings(const struct nl_findings *f, int y, int room)
{
	char line[64];
	int shown = 0;

	if (!f->n) {
		put(y++, 0, "No findings: nothing looks wrong.");
		return y;
	}
	for (size_t i = 0; i < f->n && shown < room; i++, shown++) {
		const struct nl_finding *x = &f->v[i];
		int pair = severity_pair(x->severity);

		/* The last line left says how many more there are. */
		if (shown == room - 1 && i + 1 < f->n) {
			snprintf(line, sizeof(line), "... %zu more findings", f->n - i);
			put(y++, 0, line);
			return y;
		}
		if (has_colors())
			attron(COLOR_PAIR(pair) | (x->severity == NL_SEV_CRITICAL ? A_BOLD : 0));
		snprintf(line, sizeof(line), "%-8s ", nl_severity_name(x->severity));
		put(y, 0, line);
		put(y, 9, x->summary);
		if (has_colors())
			attroff(COLOR_PAIR(pair) | A_BOLD);
		y++;
	}
	return y;
}

static void draw_table(struct top_ui *ui, int y, int bottom)
{
	const struct top_table *t = &ui->table;
	char line[1024], title[256];
	size_t width = COLS > 0 && (size_t)COLS < sizeof(line) ? (size_t)COLS : sizeof(line) - 1;
	int rows = bottom - y - 2;

	snprintf(title, sizeof(title), "%s: %zu rows, sort %s%s%s%s%s%s", t->title, t->n,
		 t->cols[t->sort_col].name, ui->reverse ? " (reversed)" : "",
		 ui->filter[0] ? ", filter \"" : "", ui->filter, ui->filter[0] ? "\"" : "",
		 ui->paused ? "  [PAUSED]" : "");
	attron(A_BOLD);
	put(y++, 0, title);
	attroff(A_BOLD);
	if (!t->n) {
		put(y, 2, ui->filter[0] ? "(no row matches the filter)" : t->empty);
		return;
	}
	top_table_line(t, NULL, line, width);
	attron(A_REVERSE);
	mvhline(y, 0, ' ', COLS);
	put(y++, 0, line);
	attroff(A_REVERSE);
	if (rows < 1)
		return;
	if (ui->scroll + (size_t)rows > t->n)
		ui->scroll = t->n > (size_t)rows ? (unsigned int)(t->n - rows) : 0;
	for (size_t i = ui->scroll; i < t->n && y < bottom; i++) {
		top_table_line(t, &t->rows[i], line, width);
		put(y++, 0, line);
	}
}

static void draw_help(void)
{
	int n = (int)(sizeof(help_lines) / sizeof(help_lines[0]));
	int w = 80 < COLS - 2 ? 80 : COLS - 2, h = n + 2 < LINES ? n + 2 : LINES;
	int y0 = (LINES - h) / 2, x0 = (COLS - w) / 2;

	if (w < 4 || h < 3)
		return;
	for (int i = 0; i < h; i++)
		mvhline(y0 + i, x0, ' ', w);
	attron(A_BOLD);
	for (int i = 0; i < n && i + 1 < h - 1; i++)
		mvaddnstr(y0 + 1 + i, x0 + 2, help_lines[i], w - 4);
	attroff(A_BOLD);
}

static void draw_footer(const struct top_ui *ui, const char *status)
{
	char line[256];

	if (ui->editing)
		snprintf(line, sizeof(line), "filter: %s_   (Enter applies, Esc cancels)", ui->edit);
	else
		snprintf(line, sizeof(line), "q quit  1-5/Tab view  s/</> sort  r reverse  / filter  "
			 "space pause  h help   %s", status);
	attron(A_REVERSE);
	mvhline(LINES - 1, 0, ' ', COLS);
	put(LINES - 1, 0, line);
	attroff(A_REVERSE);
}

void top_screen_draw(struct top_ui *ui, const struct top_model *m, const struct nl_findings *f,
		     const char *status)
{
	int y, room;

	top_model_table(m, ui->view, &ui->table, ui->filter, ui->sort[ui->view], ui->reverse);
	erase();
	if (LINES < 3 || COLS < 10) {
		put(0, 0, "netlens top: window too small");
		refresh();
		return;
	}
	draw_tabs(ui);
	/* Findings take a third of the screen at most, one line at least. */
	room = (LINES - 4) / 3;
	if (room < MIN_FINDINGS_LINES)
		room = MIN_FINDINGS_LINES;
	y = draw_findings(f, 1, room);
	draw_table(ui, y + 1, LINES - 1);
	draw_footer(ui, status);
	if (ui->help)
		draw_help();
	refresh();
}
