package manual

import (
	"strings"
	"testing"
)

func TestRoffProse(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "runs a container", "runs a container"},
		{"whitespace collapsed", "runs  a\n\tcontainer ", "runs a container"},
		{"backslash", `C:\dir`, `C:\edir`},
		{"hyphen inside a word", "root-owned, re-execute", "root-owned, re-execute"},
		{"options are minus signs", "with --env or -N 2", `with \-\-env or \-N 2`},
		{"dash", "a - b", `a \- b`},
		{"trailing minus", "a-", `a\-`},
		{"code span bold, every minus a minus", "see `socker-gc.timer` now", `see \fBsocker\-gc.timer\fR now`},
		{"code span backslash", "`a\\b`", `\fBa\eb\fR`},
		{"empty code span dropped", "a `` b", "a  b"},
		{"unmatched backquote: the rest literal", "a `b-c d", `a \fBb\-c d\fR`},
		{"font escapes in the text are escaped", `\fB`, `\efB`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roffProse(tt.in); got != tt.want {
				t.Errorf("roffProse(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRoffTerm(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"one word bold", "images.allow", `\fBimages.allow\fR`},
		{"first word bold whatever it is", "128+N", `\fB128+N\fR`},
		{"option and placeholder", "-N NODES", `\fB\-N\fR \fINODES\fR`},
		{"long option", "--mount SRC:DST[:ro]", `\fB\-\-mount\fR \fISRC\fR:\fIDST\fR[:ro]`},
		{"synopsis", "mrun --master URL|local[:N] [--] ARG...",
			`\fBmrun\fR \fB\-\-master\fR \fIURL\fR|local[:\fIN\fR] [\-\-] \fIARG\fR...`},
		{"option inside a bracket", "socker run [--env NAME=VALUE]...",
			`\fBsocker\fR run [\fB\-\-env\fR \fINAME\fR=\fIVALUE\fR]...`},
		{"capitalised word is not a placeholder", "x Mesos", `\fBx\fR Mesos`},
		{"hyphen inside a word is not an option", "x first-fit", `\fBx\fR first\-fit`},
		{"placeholder with digits and underscore", "x ARG_2", `\fBx\fR \fIARG_2\fR`},
		{"backslash", `x a\b`, `\fBx\fR a\eb`},
		{"first word escaped", `-x\y`, `\fB\-x\ey\fR`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roffTerm(tt.in); got != tt.want {
				t.Errorf("roffTerm(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Text that would start a roff line with a period or an apostrophe is made
// harmless with \&, wherever it comes from.
func TestRoff_LineStartEscaped(t *testing.T) {
	p := Page{Name: "x", Section: "1", Summary: "s", Sections: []Section{{Title: "T", Blocks: []Block{
		P(".bashrc is read"),
		P("'quoted' word"),
		List(Item{Term: "t", Text: ".profile first\n\n'second' paragraph", Items: []Item{{Term: "u", Text: ".sub"}}}),
		Code(".hidden", "'x'", "", `a\b`),
	}}}}
	got := p.Roff()
	for _, want := range []string{
		"\n\\&.bashrc is read\n", "\n\\&'quoted' word\n", "\n\\&.profile first\n.IP\n\\&'second' paragraph\n",
		"\n\\&.sub\n", "\n\\&.hidden\n\\&'x'\n\\&\na\\eb\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("roff lacks %q:\n%s", want, got)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if strings.HasPrefix(l, "'") || strings.HasPrefix(l, ".") && !isMacro(l) {
			t.Errorf("line %q would be taken for a request", l)
		}
	}
}

// isMacro reports whether l is one of the requests and macros Roff writes.
func isMacro(l string) bool {
	name, _, _ := strings.Cut(l, " ")
	switch name {
	case ".TH", ".nh", ".ad", ".SH", ".PP", ".TP", ".IP", ".RS", ".RE", ".nf", ".fi", ".br":
		return true
	}
	return false
}

func TestRoff_Page(t *testing.T) {
	p := Page{
		Name: "demo", Section: "1", Summary: "show `demo-x` output",
		Synopsis: []string{"demo [-v] FILE", "demo --help"},
		Date:     "2026-01-02", Source: `demo "1"`,
		Sections: []Section{
			{Title: "DESCRIPTION", Blocks: []Block{P("First."), P("Second\n\nThird.")}},
			{Title: "OPTIONS", Blocks: []Block{List(
				Item{Term: "-v", Text: "Verbose."},
				Item{Term: "run", Text: "Runs.", Items: []Item{{Term: "--x N", Text: "Nested."}}},
			), P("After.")}},
			{Title: "EXAMPLES", Blocks: []Block{Code("demo -v a")}},
			{Title: "SEE ALSO", Blocks: []Block{P("`x`(1)")}},
		},
	}
	want := `.TH "DEMO" "1" "2026-01-02" "demo \(dq1\(dq" "User Commands"
.nh
.ad l
.SH NAME
demo \- show \fBdemo\-x\fR output
.SH SYNOPSIS
\fBdemo\fR [\fB\-v\fR] \fIFILE\fR
.br
\fBdemo\fR \fB\-\-help\fR
.SH DESCRIPTION
First.
.PP
Second
.PP
Third.
.SH OPTIONS
.TP
\fB\-v\fR
Verbose.
.TP
\fBrun\fR
Runs.
.RS
.TP
\fB\-\-x\fR \fIN\fR
Nested.
.RE
.PP
After.
.SH EXAMPLES
.RS 4
.nf
demo \-v a
.fi
.RE
.SH SEE ALSO
\fBx\fR(1)
`
	if got := p.Roff(); got != want {
		t.Errorf("Roff:\n%s\nwant:\n%s", got, want)
	}
}

func TestManualTitle(t *testing.T) {
	for _, tt := range []struct{ section, manual, want string }{
		{"1", "", "User Commands"}, {"5", "", "File Formats"}, {"8", "", "System Administration"},
		{"3", "", ""}, {"1", "Mine", "Mine"},
	} {
		if got := (Page{Section: tt.section, Manual: tt.manual}).ManualTitle(); got != tt.want {
			t.Errorf("section %s manual %q: %q, want %q", tt.section, tt.manual, got, tt.want)
		}
	}
}

func TestText_Page(t *testing.T) {
	p := Page{
		Name: "demo", Section: "1", Summary: "show `demo` output",
		Synopsis: []string{"demo [--verbose] [--format FORMAT] [--output FILE] [--input FILE] [--] FILE..."},
		Sections: []Section{
			{Title: "DESCRIPTION", Blocks: []Block{P("It reads `FILE` and writes it, after `--` if it starts with `-`. " +
				"This sentence is long enough to wrap onto a second line of the paragraph."), P("One.\n\nTwo.")}},
			{Title: "OPTIONS", Blocks: []Block{List(
				Item{Term: "-v", Text: "Verbose."},
				Item{Term: "run", Text: "Runs `a b`.", Items: []Item{{Term: "--x N", Text: "Nested."}}},
			)}},
			{Title: "EXAMPLES", Blocks: []Block{P("Like this:"), Code("demo -v a", "", "demo b")}},
		},
	}
	want := `NAME
  demo - show demo output

SYNOPSIS
  demo [--verbose] [--format FORMAT] [--output FILE] [--input FILE] [--]
       FILE...

DESCRIPTION
  It reads FILE and writes it, after "--" if it starts with "-". This sentence
  is long enough to wrap onto a second line of the paragraph.

  One.

  Two.

OPTIONS
  -v
      Verbose.
  run
      Runs "a b".
      --x N
          Nested.

EXAMPLES
  Like this:

      demo -v a

      demo b
`
	if got := p.Text(); got != want {
		t.Errorf("Text:\n%s\nwant:\n%s", got, want)
	}
}

func TestPlainProse(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a `b` c", "a b c"},
		{"`socker images` lists", `"socker images" lists`},
		{"after `--`, `/` or `=`", `after "--", "/" or "="`},
		{"`socker: `", `"socker: "`},
		{"`x-1`", "x-1"},
		{"a `b c", `a "b c"`},
		{"no code", "no code"},
		{"`[\"a\", \"b\"]`", `["a", "b"]`}, // holds a double quote: not quoted again
	}
	for _, tt := range tests {
		if got := plainProse(tt.in); got != tt.want {
			t.Errorf("plainProse(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	long := strings.Repeat("x", Width+5)
	tests := []struct {
		name        string
		text        string
		first, rest int
		want        []string
	}{
		{"empty", "", 2, 2, []string{"  "}},
		{"fits", "a b", 2, 4, []string{"  a b"}},
		{"word wider than a line", "a " + long + " b", 0, 2, []string{"a", "  " + long, "  b"}},
		{"exactly Width", strings.Repeat("x", Width-2) + " y", 2, 0, []string{"  " + strings.Repeat("x", Width-2), "y"}},
		{"counts runes, not bytes", strings.Repeat("é", Width-1) + " y", 0, 0, []string{strings.Repeat("é", Width-1), "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wrap(tt.text, tt.first, tt.rest)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("wrap = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUsageAndFill(t *testing.T) {
	got := Usage("prog -a AAAAAAAAAA -b BBBBBBBBBB -c CCCCCCCCCC -d DDDDDDDDDD -e EEEEEEEEEE -f F", "prog --other")
	want := "usage: prog -a AAAAAAAAAA -b BBBBBBBBBB -c CCCCCCCCCC -d DDDDDDDDDD -e\n" +
		"            EEEEEEEEEE -f F\n" +
		"       prog --other"
	if got != want {
		t.Errorf("Usage:\n%s\nwant:\n%s", got, want)
	}
	if got, want := Fill("a `b`\nc\n\nd"), "a b c\n\nd"; got != want {
		t.Errorf("Fill = %q, want %q", got, want)
	}
}

// Every line of a text rendering fits Width unless one word does not.
func TestText_Width(t *testing.T) {
	words := strings.Fields(strings.Repeat("lorem ipsum dolor sit amet, consectetur adipiscing elit ", 20))
	prose := strings.Join(words, " ")
	p := Page{Name: "w", Summary: prose, Synopsis: []string{"w " + prose}, Sections: []Section{{Title: "T", Blocks: []Block{
		P(prose), List(Item{Term: prose, Text: prose, Items: []Item{{Term: prose, Text: prose}}}),
	}}}}
	for _, l := range strings.Split(p.Text(), "\n") {
		if len(l) > Width {
			t.Errorf("line of %d columns: %q", len(l), l)
		}
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing space: %q", l)
		}
	}
}
