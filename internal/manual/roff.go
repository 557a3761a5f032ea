package manual

import "strings"

// Roff renders the page as a man(7) page, with the macros .TH .SH .PP .TP
// .IP .RS/.RE, the requests .nh .ad .br .nf/.fi, and the font escapes \fB
// \fI \fR only.
func (p Page) Roff() string {
	var b strings.Builder
	b.WriteString(".TH " + strings.Join([]string{
		quoteArg(strings.ToUpper(p.Name)), quoteArg(p.Section), quoteArg(p.Date),
		quoteArg(p.Source), quoteArg(p.ManualTitle()),
	}, " ") + "\n")
	// No hyphenation (it would split options and paths), ragged right.
	b.WriteString(".nh\n.ad l\n")
	b.WriteString(".SH NAME\n")
	textLine(&b, escapeCode(p.Name)+` \- `+roffProse(p.Summary))
	if len(p.Synopsis) > 0 {
		b.WriteString(".SH SYNOPSIS\n")
		for i, l := range p.Synopsis {
			if i > 0 {
				b.WriteString(".br\n")
			}
			textLine(&b, roffTerm(l))
		}
	}
	for _, s := range p.Sections {
		b.WriteString(".SH " + escapeCode(s.Title) + "\n")
		for i, bl := range s.Blocks {
			roffBlock(&b, bl, i == 0)
		}
	}
	return b.String()
}

// roffBlock writes one block; first says it opens its section (so needs no
// paragraph break).
func roffBlock(b *strings.Builder, bl Block, first bool) {
	if bl.Para != "" {
		for _, para := range paragraphs(bl.Para) {
			if !first {
				b.WriteString(".PP\n")
			}
			first = false
			textLine(b, roffProse(para))
		}
	}
	for _, it := range bl.Items {
		roffItem(b, it)
		first = false
	}
	if len(bl.Code) > 0 {
		if !first {
			b.WriteString(".PP\n")
		}
		b.WriteString(".RS 4\n.nf\n")
		for _, l := range bl.Code {
			if l == "" {
				b.WriteString(`\&` + "\n")
				continue
			}
			textLine(b, escapeCode(l))
		}
		b.WriteString(".fi\n.RE\n")
	}
}

func roffItem(b *strings.Builder, it Item) {
	b.WriteString(".TP\n")
	textLine(b, roffTerm(it.Term))
	for i, para := range paragraphs(it.Text) {
		if i > 0 {
			b.WriteString(".IP\n")
		}
		textLine(b, roffProse(para))
	}
	if len(it.Items) > 0 {
		b.WriteString(".RS\n")
		for _, sub := range it.Items {
			roffItem(b, sub)
		}
		b.WriteString(".RE\n")
	}
}

// textLine writes s as one text line: one starting with '.' or '\” would be
// taken for a request, so it is prefixed with the zero-width \&.
func textLine(b *strings.Builder, s string) {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	b.WriteString(s + "\n")
}

// quoteArg quotes a macro argument.
func quoteArg(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return `"` + strings.ReplaceAll(s, `"`, `\(dq`) + `"`
}

// escapeCode escapes literal text: a backslash prints as itself and every
// '-' is a minus sign (an ASCII '-' when copied), as options and paths need.
func escapeCode(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// escapeProse escapes prose: a backslash prints as itself; a '-' between
// two letters or digits is a hyphen ("root-owned"), any other (an option's
// "--env", a dash) a minus sign.
func escapeProse(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b.WriteString(`\e`)
		case c == '-' && !(i > 0 && isAlnum(s[i-1]) && i+1 < len(s) && isAlnum(s[i+1])):
			b.WriteString(`\-`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// roffProse renders one paragraph of prose: whitespace collapsed,
// `backquoted` spans literal and bold. An unmatched backquote makes the rest
// literal.
func roffProse(para string) string {
	parts := strings.Split(strings.Join(strings.Fields(para), " "), "`")
	var b strings.Builder
	for i, part := range parts {
		switch {
		case i%2 == 0:
			b.WriteString(escapeProse(part))
		case part != "":
			b.WriteString(`\fB` + escapeCode(part) + `\fR`)
		}
	}
	return b.String()
}

// roffTerm renders a synopsis-style line: its first word bold, then options
// (-x, --name) bold, upper-case placeholders (IMAGE, SRC) italic, and the
// rest literal.
func roffTerm(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return ""
	}
	first, rest, _ := strings.Cut(s, " ")
	var b strings.Builder
	b.WriteString(`\fB` + escapeCode(first) + `\fR`)
	if rest == "" {
		return b.String()
	}
	b.WriteString(" ")
	for i := 0; i < len(rest); {
		atWord := i == 0 || !isAlnum(rest[i-1])
		if n := optionLen(rest[i:]); atWord && n > 0 {
			b.WriteString(`\fB` + escapeCode(rest[i:i+n]) + `\fR`)
			i += n
			continue
		}
		if c := rest[i]; atWord && isUpper(c) {
			n := 1
			for n < len(rest[i:]) && (isUpper(rest[i+n]) || isDigit(rest[i+n]) || rest[i+n] == '_') {
				n++
			}
			if i+n < len(rest) && isAlnum(rest[i+n]) { // "Mesos": a word, not a placeholder
				for i+n < len(rest) && isAlnum(rest[i+n]) {
					n++
				}
				b.WriteString(escapeCode(rest[i : i+n]))
			} else {
				b.WriteString(`\fI` + escapeCode(rest[i:i+n]) + `\fR`)
			}
			i += n
			continue
		}
		b.WriteString(escapeCode(rest[i : i+1]))
		i++
	}
	return b.String()
}

// optionLen is the length of the option (-x, --name-2) s starts with, or 0.
func optionLen(s string) int {
	n := 0
	for n < len(s) && n < 2 && s[n] == '-' {
		n++
	}
	if n == 0 || n >= len(s) || !isAlnum(s[n]) {
		return 0
	}
	for n < len(s) && (isAlnum(s[n]) || s[n] == '-' || s[n] == '_') {
		n++
	}
	return n
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlnum(c byte) bool { return isUpper(c) || isDigit(c) || 'a' <= c && c <= 'z' }
