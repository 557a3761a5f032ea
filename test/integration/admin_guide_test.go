//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockerhpc/socker/security"
)

// The administrator's guide (docs/admin.md) gives jq recipes for the audit
// log, each a ```sh block holding one command that starts with "jq " and reads
// /var/log/socker/audit.log. These tests run every such recipe on a sample
// log and compare its output with testdata/admin-recipes.golden, so that a
// recipe that breaks (or an audit field that is renamed) fails here.
// Regenerate the golden file after changing a recipe or the sample, and read
// the diff: the outputs are what the guide promises.
//
//	go test -tags integration -count=1 -run TestAdminGuide ./test/integration/ -update
const (
	adminGuide       = "../../docs/admin.md"
	auditSample      = "testdata/audit-sample.log" // two nodes' logs merged in time order
	recipesGolden    = "testdata/admin-recipes.golden"
	guideAuditPath   = "/var/log/socker/audit.log"
	minRecipes       = 6
	goldenRecipeHead = "=== "
)

func init() {
	// -update may also be defined by another test file of this package.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestAdminGuide_AuditRecipes(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatalf("jq is needed to check the admin guide's recipes (scripts/setup.sh installs it): %v", err)
	}
	doc, err := os.ReadFile(adminGuide)
	if err != nil {
		t.Fatal(err)
	}
	recipes, err := jqRecipes(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(recipes) < minRecipes {
		t.Fatalf("%s has %d jq recipes (```sh blocks of one command starting with \"jq \"), want at least %d", adminGuide, len(recipes), minRecipes)
	}
	sample, err := filepath.Abs(auditSample)
	if err != nil {
		t.Fatal(err)
	}

	outputs := make([]string, len(recipes))
	for i, recipe := range recipes {
		if strings.Count(recipe, guideAuditPath) != 1 {
			t.Errorf("recipe %q must read %s (once)", recipe, guideAuditPath)
			continue
		}
		cmd := exec.Command("sh", "-c", strings.Replace(recipe, guideAuditPath, shellQuote(sample), 1))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("recipe %q failed: %v\n%s", recipe, err, stderr.String())
			continue
		}
		if stderr.Len() > 0 {
			t.Errorf("recipe %q wrote to stderr:\n%s", recipe, stderr.String())
		}
		if stdout.Len() == 0 {
			t.Errorf("recipe %q printed nothing on %s: the sample log should give every recipe something to show", recipe, auditSample)
		}
		outputs[i] = stdout.String()
	}
	if t.Failed() {
		return
	}

	if updateGolden() {
		var b strings.Builder
		b.WriteString("# The output of each jq recipe of docs/admin.md on testdata/audit-sample.log,\n")
		b.WriteString("# written by TestAdminGuide_AuditRecipes -update. Check it by eye.\n")
		for i, recipe := range recipes {
			for _, line := range strings.SplitAfter(outputs[i], "\n") {
				if strings.HasPrefix(line, goldenRecipeHead) {
					t.Fatalf("output of %q has a line starting %q, which the golden format reserves", recipe, goldenRecipeHead)
				}
			}
			b.WriteString(goldenRecipeHead + recipe + "\n" + outputs[i])
		}
		if err := os.WriteFile(recipesGolden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}

	golden, err := readRecipesGolden(recipesGolden)
	if err != nil {
		t.Fatal(err)
	}
	for i, recipe := range recipes {
		want, ok := golden[recipe]
		if !ok {
			t.Errorf("recipe %q has no output in %s (new or changed? run with -update and check the output)", recipe, recipesGolden)
			continue
		}
		if outputs[i] != want {
			t.Errorf("recipe %q printed\n%s\nwant (%s)\n%s", recipe, outputs[i], recipesGolden, want)
		}
		delete(golden, recipe)
	}
	for recipe := range golden {
		t.Errorf("%s has an output for %q, which is no longer a recipe of %s (run with -update)", recipesGolden, recipe, adminGuide)
	}
}

// TestAdminGuide_SampleIsAuditLog keeps the recipes' sample realistic: each
// line is exactly what security.AuditLog writes for some Record, and it holds
// every event an admin queries.
func TestAdminGuide_SampleIsAuditLog(t *testing.T) {
	data, err := os.ReadFile(auditSample)
	if err != nil {
		t.Fatal(err)
	}
	events := map[string]int{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; s.Scan(); n++ {
		line := s.Bytes()
		var r security.Record
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Errorf("%s:%d: not an audit record: %v", auditSample, n, err)
			continue
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, line) {
			t.Errorf("%s:%d: socker would write this record as\n%s\nnot\n%s", auditSample, n, again, line)
		}
		events[r.Event]++
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"deny", "error", "start", "exit", "explain", "gc"} {
		if events[e] == 0 {
			t.Errorf("%s has no %q record", auditSample, e)
		}
	}
}

// TestAdminGuide_ConfigExamples parses every ```toml block of the guide as
// socker would: an example that socker refuses must not be in the guide.
func TestAdminGuide_ConfigExamples(t *testing.T) {
	doc, err := os.ReadFile(adminGuide)
	if err != nil {
		t.Fatal(err)
	}
	blocks := fencedBlocks(doc, "toml")
	if len(blocks) == 0 {
		t.Fatalf("%s has no ```toml example", adminGuide)
	}
	for _, b := range blocks {
		if _, err := security.ParseConfig([]byte(b)); err != nil {
			t.Errorf("socker refuses the config example of %s: %v\n%s", adminGuide, err, b)
		}
	}
}

// jqRecipes returns, in order, the command of every ```sh block of doc that
// holds a single command starting with "jq ". A block that mixes a jq command
// with other lines is an error: the guide keeps one recipe per block.
func jqRecipes(doc []byte) ([]string, error) {
	var recipes []string
	for _, b := range fencedBlocks(doc, "sh") {
		lines := strings.Split(strings.TrimSpace(b), "\n")
		isJq := false
		for _, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), "jq ") {
				isJq = true
			}
		}
		if !isJq {
			continue
		}
		if len(lines) != 1 {
			return nil, errors.New("a ```sh block of " + adminGuide + " mixes a jq recipe with other lines (one command per block):\n" + b)
		}
		if !strings.HasPrefix(lines[0], "jq ") {
			return nil, errors.New("a jq recipe of " + adminGuide + " must start with \"jq \": " + lines[0])
		}
		recipes = append(recipes, lines[0])
	}
	return recipes, nil
}

// fencedBlocks returns the contents of the fenced code blocks of doc whose
// info string is lang, fences possibly indented (inside list items) and
// their indentation removed from the content.
func fencedBlocks(doc []byte, lang string) []string {
	var blocks []string
	var cur strings.Builder
	inBlock, keep, indent := false, false, ""
	for _, line := range strings.Split(string(doc), "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if !inBlock {
			if strings.HasPrefix(trimmed, "```") {
				inBlock, keep = true, strings.TrimSpace(trimmed[3:]) == lang
				indent = line[:len(line)-len(trimmed)]
				cur.Reset()
			}
			continue
		}
		if strings.TrimSpace(line) == "```" {
			if keep {
				blocks = append(blocks, cur.String())
			}
			inBlock = false
			continue
		}
		cur.WriteString(strings.TrimPrefix(line, indent) + "\n")
	}
	return blocks
}

// readRecipesGolden parses the golden file: "=== COMMAND" lines, each
// followed by that command's output.
func readRecipesGolden(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	recipe := ""
	for _, line := range strings.SplitAfter(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, goldenRecipeHead):
			recipe = strings.TrimSuffix(strings.TrimPrefix(line, goldenRecipeHead), "\n")
			if _, dup := out[recipe]; dup {
				return nil, errors.New(path + " has the recipe twice: " + recipe)
			}
			out[recipe] = ""
		case recipe == "" && (strings.HasPrefix(line, "#") || line == ""):
			// the header
		case recipe == "":
			return nil, errors.New(path + ": output before the first recipe: " + line)
		default:
			out[recipe] += line
		}
	}
	return out, nil
}

// shellQuote quotes s as one word for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
