package manual

// Page is one manual page.
type Page struct {
	Name     string   // the program or file: "socker", "socker.toml"
	Section  string   // the manual section: "1", "5", "8"
	Summary  string   // NAME's one line, after "Name - "
	Synopsis []string // one way of calling it per line, synopsis-style
	Sections []Section

	// The roff header (.TH) only; the text rendering does not show them.
	Date   string // "2006-01-02"
	Source string // the package and version: "socker 1.2"
	Manual string // the manual's title; empty: from Section (see ManualTitle)
}

// Section is one headed part of a page: DESCRIPTION, OPTIONS, ...
type Section struct {
	Title  string // upper case
	Blocks []Block
}

// Block is a paragraph, a list of items, or literal lines: exactly one of
// its fields is set (a renderer shows each that is, in this order).
type Block struct {
	Para  string   // prose, one paragraph
	Items []Item   // term/definition items
	Code  []string // lines shown verbatim (examples)
}

// Item is a term and its definition.
type Item struct {
	Term  string // synopsis-style: "--mount SRC:DST[:ro]", "images.allow", "77"
	Text  string // prose; paragraphs separated by a blank line
	Items []Item // a nested list, after Text
}

// P is a paragraph block.
func P(prose string) Block { return Block{Para: prose} }

// List is a block of items.
func List(items ...Item) Block { return Block{Items: items} }

// Code is a block of literal lines.
func Code(lines ...string) Block { return Block{Code: lines} }

// ManualTitle is the title of the page's manual: p.Manual, or the usual
// one for its section.
func (p Page) ManualTitle() string {
	if p.Manual != "" {
		return p.Manual
	}
	switch p.Section {
	case "1":
		return "User Commands"
	case "5":
		return "File Formats"
	case "8":
		return "System Administration"
	}
	return ""
}

// Find returns the page's section with the given title.
func (p Page) Find(title string) (Section, bool) {
	for _, s := range p.Sections {
		if s.Title == title {
			return s, true
		}
	}
	return Section{}, false
}
