package manual

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Width is the widest line, in columns, of the text rendering (unless a
// single word is wider), so that --help output reads in an 80-column
// terminal.
const Width = 78

const (
	bodyIndent = 2 // a section's body, under its title
	itemIndent = 4 // an item's text and nested items, relative to its term
)

// Text renders the page as plain text for --help output: section titles at
// the left margin, prose filled to Width, literal spans as plainProse sets them.
func (p Page) Text() string {
	var b strings.Builder
	b.WriteString("NAME\n")
	writeLines(&b, wrap(p.Name+" - "+plainProse(p.Summary), bodyIndent, bodyIndent+itemIndent))
	if len(p.Synopsis) > 0 {
		b.WriteString("\nSYNOPSIS\n")
		for _, l := range p.Synopsis {
			writeLines(&b, synopsisLines(l, bodyIndent))
		}
	}
	for _, s := range p.Sections {
		b.WriteString("\n")
		b.WriteString(s.Text())
	}
	return b.String()
}

// Text renders one section as the page's Text does.
func (s Section) Text() string {
	var b strings.Builder
	if s.Title != "" {
		b.WriteString(s.Title + "\n")
	}
	for i, bl := range s.Blocks {
		if i > 0 {
			b.WriteString("\n")
		}
		writeBlock(&b, bl, bodyIndent)
	}
	return b.String()
}

// Usage renders synopsis lines as a usage message: "usage: " before the
// first, the others aligned under it, each wrapped to Width.
func Usage(synopsis ...string) string {
	const prefix = "usage: "
	var b strings.Builder
	for i, l := range synopsis {
		lines := synopsisLines(l, len(prefix))
		if i == 0 {
			lines[0] = prefix + lines[0][len(prefix):]
		}
		writeLines(&b, lines)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Fill renders prose as the text rendering does, at the left margin:
// paragraphs (separated by a blank line) filled to Width, backquotes dropped.
func Fill(prose string) string {
	var b strings.Builder
	writeProse(&b, prose, 0)
	return strings.TrimSuffix(b.String(), "\n")
}

func writeBlock(b *strings.Builder, bl Block, indent int) {
	if bl.Para != "" {
		writeProse(b, bl.Para, indent)
	}
	for _, it := range bl.Items {
		writeItem(b, it, indent)
	}
	for _, l := range bl.Code {
		if l == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(strings.Repeat(" ", indent+itemIndent) + l + "\n")
	}
}

func writeItem(b *strings.Builder, it Item, indent int) {
	writeLines(b, wrap(it.Term, indent, indent+2*itemIndent))
	if it.Text != "" {
		writeProse(b, it.Text, indent+itemIndent)
	}
	for _, sub := range it.Items {
		writeItem(b, sub, indent+itemIndent)
	}
}

// writeProse writes the paragraphs of prose, filled, with a blank line
// between them.
func writeProse(b *strings.Builder, prose string, indent int) {
	for i, para := range paragraphs(prose) {
		if i > 0 {
			b.WriteString("\n")
		}
		writeLines(b, wrap(plainProse(para), indent, indent))
	}
}

// plainProse drops the backquotes of literal spans, except that a span with
// a space, or without a letter or digit ("socker: ", "--", "/"), is set in
// double quotes so it can be told from the text around it, unless it holds
// a double quote itself.
func plainProse(para string) string {
	parts := strings.Split(para, "`")
	for i := 1; i < len(parts); i += 2 {
		if !strings.Contains(parts[i], `"`) && (strings.ContainsAny(parts[i], " \t\n") || !strings.ContainsFunc(parts[i], isLetterOrDigit)) {
			parts[i] = `"` + parts[i] + `"`
		}
	}
	return strings.Join(parts, "")
}

func isLetterOrDigit(r rune) bool {
	return r < 0x80 && isAlnum(byte(r)) || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// paragraphs splits prose at blank lines.
func paragraphs(prose string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(prose, "\r\n", "\n"), "\n\n") {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}

// synopsisLines wraps one synopsis line at indent, its continuation lines
// aligned after its first word (the program's name).
func synopsisLines(l string, indent int) []string {
	first, _, _ := strings.Cut(strings.TrimSpace(l), " ")
	return wrap(l, indent, indent+utf8.RuneCountInString(first)+1)
}

// wrap fills the words of text into lines of at most Width columns, the
// first indented by first spaces and the others by rest. A word wider than
// a line gets a line of its own. Empty text gives one empty line.
func wrap(text string, first, rest int) []string {
	words := strings.Fields(text)
	var lines []string
	line := strings.Repeat(" ", first)
	n := 0 // words on line
	for _, w := range words {
		if n > 0 && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > Width {
			lines = append(lines, line)
			line, n = strings.Repeat(" ", rest), 0
		}
		if n > 0 {
			line += " "
		}
		line += w
		n++
	}
	return append(lines, line)
}

func writeLines(b *strings.Builder, lines []string) {
	for _, l := range lines {
		b.WriteString(strings.TrimRight(l, " ") + "\n")
	}
}
