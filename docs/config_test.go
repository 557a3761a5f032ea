package docs_test

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sockerhpc/socker/docs"
	"github.com/sockerhpc/socker/security"
)

// configKeys walks c's TOML tags (skipping `toml:"-"`) and returns each key,
// "section.key", in field order, with c's value for it.
func configKeys(t *testing.T, c security.Config) ([]string, map[string]reflect.Value) {
	t.Helper()
	var keys []string
	values := map[string]reflect.Value{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				t.Fatalf("field %s%s has no toml tag", prefix, f.Name)
			}
			if f.Type.Kind() == reflect.Struct {
				walk(prefix+name+".", v.Field(i))
				continue
			}
			keys = append(keys, prefix+name)
			values[prefix+name] = v.Field(i)
		}
	}
	walk("", reflect.ValueOf(c))
	return keys, values
}

// tomlValue formats a default as docs.ConfigKeys states it: TOML syntax.
func tomlValue(t *testing.T, v reflect.Value) string {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Bool, reflect.Int, reflect.Int64, reflect.Uint32:
		return fmt.Sprint(v.Interface())
	case reflect.Slice:
		elems := make([]string, v.Len())
		for i := range elems {
			elems[i] = tomlValue(t, v.Index(i))
		}
		return "[" + strings.Join(elems, ", ") + "]"
	}
	t.Fatalf("no TOML formatting for %s: add a case", v.Type())
	return ""
}

func TestConfigKeys_DocumentEveryKeyOfConfig(t *testing.T) {
	keys, _ := configKeys(t, security.DefaultConfig())
	var documented []string
	for _, k := range docs.ConfigKeys {
		documented = append(documented, k.Key)
	}
	for _, k := range keys {
		if !slices.Contains(documented, k) {
			t.Errorf("Config has the key %s, which ConfigKeys does not document", k)
		}
	}
	for _, k := range documented {
		if !slices.Contains(keys, k) {
			t.Errorf("ConfigKeys documents %s, which Config does not have", k)
		}
	}
	if !t.Failed() && !slices.Equal(documented, keys) {
		t.Errorf("ConfigKeys is not in Config's field order:\n  %v\nwant\n  %v", documented, keys)
	}
}

func TestConfigKeys_DefaultsAreDefaultConfigs(t *testing.T) {
	_, values := configKeys(t, security.DefaultConfig())
	for _, k := range docs.ConfigKeys {
		v, ok := values[k.Key]
		if !ok {
			continue // reported by TestConfigKeys_DocumentEveryKeyOfConfig
		}
		if want := tomlValue(t, v); k.Default != want {
			t.Errorf("ConfigKeys %s: Default %s, but security.DefaultConfig() gives %s", k.Key, k.Default, want)
		}
		if strings.TrimSpace(k.Meaning) == "" || strings.Count(k.Meaning, "`")%2 != 0 {
			t.Errorf("ConfigKeys %s: Meaning is empty or has an unmatched backquote", k.Key)
		}
	}
}

// Each documented default, written in a file, is valid and leaves the
// config as DefaultConfig: the Default column can be copied into a file.
func TestConfigKeys_DefaultsParse(t *testing.T) {
	keys, want := configKeys(t, security.DefaultConfig())
	for _, k := range docs.ConfigKeys {
		section, key, _ := strings.Cut(k.Key, ".")
		cfg, err := security.ParseConfig([]byte(fmt.Sprintf("[%s]\n%s = %s\n", section, key, k.Default)))
		if err != nil {
			t.Errorf("%s = %s: %v", k.Key, k.Default, err)
			continue
		}
		_, got := configKeys(t, *cfg)
		for _, kk := range keys {
			if g, w := tomlValue(t, got[kk]), tomlValue(t, want[kk]); g != w {
				t.Errorf("with %s = %s, %s is %s, not the default %s", k.Key, k.Default, kk, g, w)
			}
		}
	}
}

func TestConfigExample_Parses(t *testing.T) {
	if _, err := security.ParseConfig([]byte(docs.ConfigExample)); err != nil {
		t.Fatalf("ConfigExample: %v", err)
	}
	for _, p := range docs.ConfigIntro {
		if strings.Count(p, "`")%2 != 0 {
			t.Errorf("ConfigIntro paragraph has an unmatched backquote: %q", p)
		}
	}
}
