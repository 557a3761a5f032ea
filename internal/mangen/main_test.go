package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockerhpc/socker/docs"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the pages as they are now")

// The roff of each page, with a fixed version and date, is the golden file:
// a change to any page's source shows up as a diff to review.
//
//	go test ./internal/mangen -update
func TestPages_Golden(t *testing.T) {
	for _, p := range pages("VERSION", defaultDate) {
		t.Run(p.file, func(t *testing.T) {
			golden := filepath.Join("testdata", p.file+".golden")
			got := p.page.Roff()
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run: go test ./internal/mangen -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s's roff differs from %s; if the change is intended, run: go test ./internal/mangen -update\n%s",
					p.file, golden, firstDiff(string(want), got))
			}
		})
	}
}

// firstDiff shows the first line where got departs from want.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return ""
}

func TestPages_Header(t *testing.T) {
	want := map[string]string{"socker.8": "SOCKER 8", "mrun.1": "MRUN 1", "socker.toml.5": "SOCKER.TOML 5"}
	for _, p := range pages("1.2.3", "2030-01-02") {
		if p.file != strings.ToLower(p.page.Name)+"."+p.page.Section {
			t.Errorf("%s holds %s(%s)", p.file, p.page.Name, p.page.Section)
		}
		th, _, _ := strings.Cut(p.page.Roff(), "\n")
		if w := want[p.file]; !strings.Contains(strings.ReplaceAll(th, `"`, ""), w+" 2030-01-02 socker 1.2.3 ") {
			t.Errorf("%s: header %q, want %s, the date and the version", p.file, th, w)
		}
	}
}

// Two runs write the same bytes, gzip streams with no name and no time that
// hold each page's roff.
func TestWriteMan_Reproducible(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := writeMan(dir, "VERSION", defaultDate); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pages("VERSION", defaultDate) {
		name := p.file + ".gz"
		da, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		db, err := os.ReadFile(filepath.Join(b, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(da, db) {
			t.Errorf("%s differs between two runs", name)
		}
		zr, err := gzip.NewReader(bytes.NewReader(da))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if zr.Name != "" || !zr.ModTime.IsZero() {
			t.Errorf("%s: gzip header has name %q, time %v; want none", name, zr.Name, zr.ModTime)
		}
		roff, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(roff) != p.page.Roff() {
			t.Errorf("%s does not hold the page's roff", name)
		}
	}
}

func TestDefaultDate(t *testing.T) {
	if _, err := time.Parse(time.DateOnly, defaultDate); err != nil {
		t.Errorf("defaultDate %q: %v", defaultDate, err)
	}
}

func TestAdminTable(t *testing.T) {
	table := adminTable()
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if len(lines) != 2+len(docs.ConfigKeys) {
		t.Fatalf("table has %d lines, want a header, a rule and %d keys:\n%s", len(lines), len(docs.ConfigKeys), table)
	}
	for i, k := range docs.ConfigKeys {
		l := lines[2+i]
		if !strings.HasPrefix(l, "| `"+k.Key+"` | `"+k.Default+"` | ") || !strings.HasSuffix(l, " |") {
			t.Errorf("row %q does not document %s", l, k.Key)
		}
		if strings.Count(strings.ReplaceAll(l, `\|`, ""), "|") != 4 {
			t.Errorf("row %q does not have 3 cells", l)
		}
	}
}

func TestReplaceSection(t *testing.T) {
	const begin = "<!-- config-keys:begin (generated) -->\n"
	const end = "<!-- config-keys:end -->\n"
	tests := []struct {
		name, doc, want, err string
	}{
		{"empty section", "# A\n" + begin + end + "tail\n", "# A\n" + begin + "\nT\n\n" + end + "tail\n", ""},
		{"old section replaced", "x\n" + begin + "old\nlines\n" + end, "x\n" + begin + "\nT\n\n" + end, ""},
		{"no final newline kept", begin + end + "tail", begin + "\nT\n\n" + end + "tail", ""},
		{"no markers", "# A\n", "", "marker"},
		{"no end", begin, "", "marker"},
		{"end first", end + begin, "", "before"},
		{"two begins", begin + begin + end, "", "two"},
		{"two ends", begin + end + end, "", "two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replaceSection(tt.doc, "T\n")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if again, _ := replaceSection(got, "T\n"); again != got {
				t.Errorf("not idempotent: %q", again)
			}
		})
	}
}

func TestUpdateAdmin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.md")
	doc := "# Guide\n\n<!-- config-keys:begin x -->\n<!-- config-keys:end -->\n\nMore.\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := updateAdmin(path); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# Guide\n\n<!-- config-keys:begin x -->\n\n" + adminTable() + "\n<!-- config-keys:end -->\n\nMore.\n"
	if string(got) != want {
		t.Errorf("admin.md:\n%s\nwant:\n%s", got, want)
	}
}

// docs/admin.md's generated section is what the generator writes now.
func TestAdminGuide_ConfigKeysCurrent(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "admin.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := replaceSection(string(data), adminTable())
	if err != nil {
		t.Fatalf("docs/admin.md: %v", err)
	}
	if want != string(data) {
		t.Errorf("docs/admin.md's config-keys section is not what docs.ConfigKeys gives: run `go run ./internal/mangen -admin docs/admin.md`")
	}
}
