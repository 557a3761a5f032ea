// Command mangen writes socker's manual pages, socker(8), mrun(1) and
// socker.toml(5), from the very values the programs' help output is printed
// from (docs.Socker for `socker help`, docs.SockerConfig for `socker
// help config`, docs.Mrun for `mrun --help`), and the table of config
// keys in docs/admin.md from docs.ConfigKeys. There is no hand-kept copy
// of any of that text.
//
//	go run ./internal/mangen -out bin/man [-version V] [-date YYYY-MM-DD | -source-date-epoch SECONDS]
//	go run ./internal/mangen -admin docs/admin.md
//
// -out writes DIR/socker.8.gz, DIR/mrun.1.gz and DIR/socker.toml.5.gz. The
// output is reproducible: the date comes from a flag (by default a constant,
// never the clock) and the gzip streams carry no file name and no time.
// `make man` runs it with socker's own -ldflags, so the pages name the
// config path compiled into that build (build.ConfigPath) and its version
// (build.Version, the default of -version).
//
// -admin rewrites only the lines between the markers <!-- config-keys:begin
// ... --> and <!-- config-keys:end --> of the file, in one write, and leaves
// every other byte as it was. A test fails when docs/admin.md's section is
// not what this would write.
package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sockerhpc/socker/docs"
	"github.com/sockerhpc/socker/internal/build"
	"github.com/sockerhpc/socker/internal/manual"
)

// defaultDate is the pages' date unless a flag gives one: a constant, so
// that two builds of the same source write the same bytes.
const defaultDate = "2026-11-01"

const (
	beginMarker = "<!-- config-keys:begin"
	endMarker   = "<!-- config-keys:end"
)

func main() {
	out := flag.String("out", "", "write the man pages, gzipped, into `DIR`")
	admin := flag.String("admin", "", "rewrite the generated config-key table of `FILE` (docs/admin.md)")
	version := flag.String("version", build.Version, "the `VERSION` the pages' footer names")
	date := flag.String("date", defaultDate, "the pages' `DATE`, YYYY-MM-DD")
	epoch := flag.Int64("source-date-epoch", 0, "take the date from these `SECONDS` since 1970 (UTC) instead of -date")
	flag.Parse()
	if flag.NArg() != 0 || (*out == "" && *admin == "") {
		fmt.Fprintln(os.Stderr, "usage: mangen -out DIR [-version V] [-date YYYY-MM-DD | -source-date-epoch SECONDS]")
		fmt.Fprintln(os.Stderr, "       mangen -admin docs/admin.md")
		os.Exit(2)
	}
	if *epoch != 0 {
		*date = time.Unix(*epoch, 0).UTC().Format(time.DateOnly)
	}
	if _, err := time.Parse(time.DateOnly, *date); err != nil {
		fail(fmt.Errorf("-date %q: want YYYY-MM-DD", *date))
	}
	if *out != "" {
		if err := writeMan(*out, *version, *date); err != nil {
			fail(err)
		}
	}
	if *admin != "" {
		if err := updateAdmin(*admin); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mangen:", err)
	os.Exit(1)
}

// page is one man page and the file it is written to.
type page struct {
	file string
	page manual.Page
}

// pages returns the three pages with their header set.
func pages(version, date string) []page {
	ps := []page{
		{"socker.8", docs.Socker(build.ConfigPath)},
		{"mrun.1", docs.Mrun()},
		{"socker.toml.5", docs.SockerConfig(build.ConfigPath)},
	}
	for i := range ps {
		ps[i].page.Date = date
		ps[i].page.Source = "socker " + version
	}
	return ps
}

// writeMan writes each page's roff, gzipped, into dir.
func writeMan(dir, version, date string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range pages(version, date) {
		data, err := gzipped([]byte(p.page.Roff()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p.file+".gz"), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// gzipped compresses data with an empty header: no name, no time.
func gzipped(data []byte) ([]byte, error) {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// adminTable is the Markdown table of docs.ConfigKeys.
func adminTable() string {
	var b strings.Builder
	b.WriteString("| key | default | meaning |\n|---|---|---|\n")
	cell := func(s string) string {
		return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
	}
	for _, k := range docs.ConfigKeys {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", cell(k.Key), cell(k.Default), cell(k.Meaning))
	}
	return b.String()
}

// replaceSection returns doc with the lines between its begin and end
// markers replaced by section (a blank line around it); the marker lines and
// everything outside them are kept byte for byte.
func replaceSection(doc, section string) (string, error) {
	lines := strings.SplitAfter(doc, "\n")
	begin, end := -1, -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, beginMarker):
			if begin >= 0 {
				return "", errors.New("two config-keys:begin markers")
			}
			begin = i
		case strings.HasPrefix(l, endMarker):
			if end >= 0 {
				return "", errors.New("two config-keys:end markers")
			}
			end = i
		}
	}
	switch {
	case begin < 0 || end < 0:
		return "", fmt.Errorf("no %s ... --> and %s --> marker lines", beginMarker, endMarker)
	case end < begin:
		return "", errors.New("the config-keys:end marker comes before the begin marker")
	}
	return strings.Join(lines[:begin+1], "") + "\n" + section + "\n" + strings.Join(lines[end:], ""), nil
}

// updateAdmin rewrites path's generated section, in one write, if it
// changed.
func updateAdmin(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, err := replaceSection(string(data), adminTable())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if doc == string(data) {
		return nil
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}
