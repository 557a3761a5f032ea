// Package manual holds a manual page as data and renders it two ways: as
// plain text for a program's --help output, and as roff (man(7) macros) for
// man(1). A program describes itself once, as a Page, and both its help and
// its man page come from that value, so they cannot drift apart.
//
// What belongs here: the Page type and its two renderers, and the few text
// helpers they share (word wrapping, usage lines). Everything is pure: no
// I/O, no environment, no clock, standard library only (strings, unicode),
// because the setuid socker binary links this package through package
// wrapper.
//
// What does not belong here: the content of any page (each program keeps its
// own, in package docs), anything that
// writes files or compresses them (internal/mangen), and any dependency on
// the flag package or on a program's packages.
//
// Inline markup, in prose only (paragraphs and item texts): a `backquoted`
// span is literal text (a command, a path, a value). The text renderer drops
// the backquotes (it keeps a span with a space, or with no letter or digit,
// in double quotes, so write prose that reads without them); the roff
// renderer sets the span in bold with every '-' a minus sign, so it can be
// copied from man(1)'s output. Terms and synopsis
// lines are synopsis-style instead: their first word is bold, options
// (-x, --name) are bold and upper-case placeholders (IMAGE, SRC) italic.
package manual
