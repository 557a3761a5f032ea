package localmesos

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/gogo/protobuf/proto"
)

// The master's JSON is not what mesos-go's ffjson or gogo's jsonpb produce:
// fields appear in .proto declaration order (the order of mesos-go's struct
// fields), only set fields are written, enums are names, bytes are base64,
// 64-bit integers are numbers (jsonpb quotes them) and doubles always carry a
// fraction ("15.0", "2.0"; ffjson writes 1.795262304462282e+09). This file
// reads and writes that format by reflection over the generated structs'
// `protobuf:"..."` tags, so every message mesos-go knows is covered.

// fieldInfo is what a `protobuf:"..."` struct tag says about one field.
type fieldInfo struct {
	index    int
	name     string // the .proto field name, used as the JSON key
	required bool
	repeated bool
	enum     string // registered enum name, e.g. "mesos.TaskState"
}

func fieldsOf(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("protobuf")
		if tag == "" {
			continue // XXX_ bookkeeping fields
		}
		f := fieldInfo{index: i}
		for _, part := range strings.Split(tag, ",") {
			switch {
			case part == "req":
				f.required = true
			case part == "rep":
				f.repeated = true
			case strings.HasPrefix(part, "name="):
				f.name = part[len("name="):]
			case strings.HasPrefix(part, "enum="):
				f.enum = part[len("enum="):]
			}
		}
		out = append(out, f)
	}
	return out
}

// marshalJSON writes msg (a pointer to a generated message) as the master does.
func marshalJSON(msg proto.Message) []byte {
	var b bytes.Buffer
	writeMessage(&b, reflect.ValueOf(msg).Elem())
	return b.Bytes()
}

func writeMessage(b *bytes.Buffer, v reflect.Value) {
	b.WriteByte('{')
	first := true
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		switch {
		case fv.Kind() == reflect.Ptr:
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() != reflect.Uint8,
			fv.Kind() == reflect.Map:
			if fv.Len() == 0 {
				continue
			}
		case fv.Kind() == reflect.Slice: // bytes
			if fv.IsNil() && !f.required {
				continue
			}
		default: // a non-nullable value: required ones always, optional ones when set
			if !f.required && fv.IsZero() {
				continue
			}
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, f.name)
		b.WriteByte(':')
		writeValue(b, fv, f.enum != "")
	}
	b.WriteByte('}')
}

func writeValue(b *bytes.Buffer, v reflect.Value, enum bool) {
	if v.Kind() == reflect.Ptr {
		v = v.Elem()
	}
	switch {
	case enum:
		writeString(b, enumName(v))
	case v.Kind() == reflect.Struct:
		writeMessage(b, v)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
		writeString(b, base64.StdEncoding.EncodeToString(v.Bytes()))
	case v.Kind() == reflect.Slice:
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, v.Index(i), enum)
		}
		b.WriteByte(']')
	case v.Kind() == reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, fmt.Sprint(k.Interface()))
			b.WriteByte(':')
			writeValue(b, v.MapIndex(k), false)
		}
		b.WriteByte('}')
	case v.Kind() == reflect.String:
		writeString(b, v.String())
	case v.Kind() == reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case v.Kind() == reflect.Float64 || v.Kind() == reflect.Float32:
		b.WriteString(formatDouble(v.Float()))
	case v.CanInt():
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case v.CanUint():
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	default:
		panic("localmesos: cannot encode " + v.Type().String())
	}
}

// formatDouble prints the shortest text that reads back as f, with a
// fraction: 15 -> "15.0", 2-0.1 -> "1.9". The real master (RapidJSON's
// Grisu2) sometimes ends a 17-digit timestamp one digit higher; both texts
// denote the same double.
func formatDouble(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "null"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // cannot fail for a string
	b.Truncate(b.Len() - 1)
}

// newerEnums are enum names Mesos 1.12 sends that mesos-go v0.0.11 predates.
var newerEnums = map[string]map[int32]string{
	"mesos.MasterInfo_Capability_Type": {3: "QUOTA_V2"},
}

func enumName(v reflect.Value) string {
	if v.Kind() == reflect.Ptr {
		v = v.Elem()
	}
	// Generated enum types are named as registered: "mesos.MasterInfo_Capability_Type".
	if name, ok := newerEnums[v.Type().String()][int32(v.Int())]; ok {
		return name
	}
	return fmt.Sprint(v.Interface()) // the generated String() gives the name
}

func enumValue(enum, name string) (int32, bool) {
	if n, ok := proto.EnumValueMap(enum)[name]; ok {
		return n, true
	}
	for n, s := range newerEnums[enum] {
		if s == name {
			return n, true
		}
	}
	return 0, false
}

// parseError is a 400 body's text after its "Failed to ..." prefix.
type parseError struct{ prefix, msg string }

func (e *parseError) Error() string { return e.prefix + e.msg }

// unmarshalJSON fills msg from a JSON body the way the master's stout parser
// does: unknown keys are ignored, an enum name it does not know leaves the
// field unset, a lone value for a repeated field is one element, and missing
// required fields are listed as protobuf's InitializationErrorString does.
// present reports the top-level keys that were set (proto2 presence, which
// non-nullable Go fields cannot carry).
func unmarshalJSON(body []byte, msg proto.Message) (present map[string]bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root interface{}
	if err := dec.Decode(&root); err != nil {
		return nil, &parseError{"Failed to parse body into JSON: ", syntaxError(body, err)}
	}
	if dec.More() {
		return nil, &parseError{"Failed to parse body into JSON: ", syntaxError(body, fmt.Errorf("trailing data"))}
	}
	obj, ok := root.(map[string]interface{})
	if !ok {
		return nil, &parseError{"Failed to convert JSON into Call protobuf: ", "Expecting a JSON object"}
	}
	var missing []string
	present = map[string]bool{}
	if err := readMessage(obj, reflect.ValueOf(msg).Elem(), "", &missing, present); err != nil {
		return nil, &parseError{"Failed to convert JSON into Call protobuf: ", err.Error()}
	}
	if len(missing) > 0 {
		return nil, &parseError{"Failed to convert JSON into Call protobuf: ", "Missing required fields: " + strings.Join(missing, ", ")}
	}
	return present, nil
}

// syntaxError words a JSON syntax error like picojson: "syntax error at line
// N near: <rest of that line>".
func syntaxError(body []byte, err error) string {
	off := len(body)
	if se, ok := err.(*json.SyntaxError); ok {
		off = int(se.Offset) - 1
	}
	if off < 0 {
		off = 0
	}
	if off > len(body) {
		off = len(body)
	}
	line := 1 + bytes.Count(body[:off], []byte{'\n'})
	rest := body[off:]
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	return fmt.Sprintf("syntax error at line %d near: %s", line, rest)
}

func readMessage(obj map[string]interface{}, v reflect.Value, path string, missing *[]string, present map[string]bool) error {
	fields := fieldsOf(v.Type())
	for _, f := range fields { // this level's missing fields first, then nested ones
		if raw := obj[f.name]; f.required && raw == nil {
			*missing = append(*missing, path+f.name)
		}
	}
	for _, f := range fields {
		raw, ok := obj[f.name]
		if !ok || raw == nil {
			continue // null is "not set" (mesos-go's JSON writes "capabilities":null)
		}
		fv := v.Field(f.index)
		set, err := readField(raw, fv, f, path, missing)
		if err != nil {
			return err
		}
		if set && present != nil {
			present[f.name] = true
		}
	}
	return nil
}

// readField stores raw in fv; set is false when the value was dropped (an
// unknown enum name).
func readField(raw interface{}, fv reflect.Value, f fieldInfo, path string, missing *[]string) (set bool, err error) {
	isBytes := fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Uint8
	if f.repeated && !isBytes && fv.Kind() == reflect.Slice {
		items, ok := raw.([]interface{})
		if !ok {
			items = []interface{}{raw}
		}
		for i, item := range items {
			if item == nil {
				continue
			}
			elem := reflect.New(fv.Type().Elem()).Elem()
			ok, err := readScalarOrMessage(item, elem, f, fmt.Sprintf("%s%s[%d].", path, f.name, i), missing)
			if err != nil {
				return false, err
			}
			if ok {
				fv.Set(reflect.Append(fv, elem))
			}
		}
		return true, nil
	}
	if _, isArray := raw.([]interface{}); isArray {
		return false, fmt.Errorf("Not expecting a JSON array for field '%s'", f.name)
	}
	if fv.Kind() == reflect.Map {
		return false, fmt.Errorf("Not expecting a JSON object for field '%s'", f.name) // proto maps: never sent to a master
	}
	target := fv
	if fv.Kind() == reflect.Ptr {
		target = reflect.New(fv.Type().Elem()).Elem()
	}
	ok, err := readScalarOrMessage(raw, target, f, path+f.name+".", missing)
	if err != nil || !ok {
		return false, err
	}
	if fv.Kind() == reflect.Ptr {
		fv.Set(target.Addr())
	}
	return true, nil
}

func jsonKind(raw interface{}) string {
	switch raw.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case map[string]interface{}:
		return "object"
	case []interface{}:
		return "array"
	}
	return "null"
}

func readScalarOrMessage(raw interface{}, v reflect.Value, f fieldInfo, path string, missing *[]string) (bool, error) {
	wrong := fmt.Errorf("Not expecting a JSON %s for field '%s'", jsonKind(raw), f.name)
	switch {
	case v.Kind() == reflect.Struct:
		obj, ok := raw.(map[string]interface{})
		if !ok {
			return false, wrong
		}
		return true, readMessage(obj, v, path, missing, nil)
	case f.enum != "":
		return readEnum(raw, v, f.enum, wrong)
	}
	return readScalar(raw, v, f.name, wrong)
}

// readEnum sets v to the enum value raw names or numbers; an unknown name
// is dropped, as stout does.
func readEnum(raw interface{}, v reflect.Value, enum string, wrong error) (bool, error) {
	switch r := raw.(type) {
	case string:
		n, ok := enumValue(enum, r)
		if !ok {
			return false, nil // stout drops enum names it does not know
		}
		v.SetInt(int64(n))
	case json.Number:
		n, err := r.Int64()
		if err != nil {
			return false, wrong
		}
		v.SetInt(n)
	default:
		return false, wrong
	}
	return true, nil
}

// readScalar sets v, a string, bytes (base64), bool or number field, to raw.
func readScalar(raw interface{}, v reflect.Value, name string, wrong error) (bool, error) {
	switch v.Kind() {
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			return false, wrong
		}
		v.SetString(s)
	case reflect.Slice: // bytes
		s, ok := raw.(string)
		if !ok {
			return false, wrong
		}
		b, err := decodeBase64(s)
		if err != nil {
			return false, fmt.Errorf("Failed to base64 decode bytes field '%s': %s", name, err)
		}
		v.SetBytes(b)
	case reflect.Bool:
		bv, ok := raw.(bool)
		if !ok {
			return false, wrong
		}
		v.SetBool(bv)
	case reflect.Float32, reflect.Float64, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64:
		var num string
		switch r := raw.(type) {
		case json.Number:
			num = string(r)
		case string: // stout also takes numbers written as strings
			num = r
		default:
			return false, wrong
		}
		if err := setNumber(v, num); err != nil {
			return false, fmt.Errorf("Failed to convert '%s' to %s for field '%s'", num, v.Kind(), name)
		}
	default:
		return false, wrong
	}
	return true, nil
}

func setNumber(v reflect.Value, num string) error {
	switch {
	case v.CanFloat():
		n, err := strconv.ParseFloat(num, 64)
		v.SetFloat(n)
		return err
	case v.CanInt():
		n, err := strconv.ParseInt(num, 10, v.Type().Bits())
		v.SetInt(n)
		return err
	default:
		n, err := strconv.ParseUint(num, 10, v.Type().Bits())
		v.SetUint(n)
		return err
	}
}

// decodeBase64 reports the first character outside the alphabet as stout does.
func decodeBase64(s string) ([]byte, error) {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return nil, fmt.Errorf("Invalid character '%c'", c)
		}
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("Malformed input")
	}
	return b, nil
}
