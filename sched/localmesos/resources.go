package localmesos

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// resources is a bag of named scalars (cpus, mem, disk) and ranges (ports),
// in the order the names were first seen. Roles, reservations and allocation
// info are ignored: every resource here is unreserved ("*").
type resources struct {
	names   []string
	scalars map[string]float64
	ranges  map[string][]mesos.Value_Range
}

// fixed rounds as Mesos' fixed-point scalars do (three decimals), so that
// 2 - 0.1 is 1.9 and not 1.9000000000000001.
func fixed(v float64) float64 { return math.Round(v*1000) / 1000 }

func (r *resources) add(name string) {
	if r.scalars == nil {
		r.scalars, r.ranges = map[string]float64{}, map[string][]mesos.Value_Range{}
	}
	for _, n := range r.names {
		if n == name {
			return
		}
	}
	r.names = append(r.names, name)
}

func (r *resources) addScalar(name string, v float64) {
	r.add(name)
	r.scalars[name] = fixed(r.scalars[name] + v)
}

func (r *resources) addRanges(name string, rs []mesos.Value_Range) {
	r.add(name)
	r.ranges[name] = normalizeRanges(append(append([]mesos.Value_Range{}, r.ranges[name]...), rs...))
}

// fromProto sums a TaskInfo's or Offer's resources. Set-valued resources
// are not supported and count as nothing.
func fromProto(rs []mesos.Resource) resources {
	var r resources
	for _, x := range rs {
		switch {
		case x.Scalar != nil:
			r.addScalar(x.Name, x.Scalar.Value)
		case x.Ranges != nil:
			r.addRanges(x.Name, x.Ranges.Range)
		}
	}
	return r
}

// toProto renders r as offered to a framework in role (allocation info
// only for MULTI_ROLE frameworks, as the master does).
func (r resources) toProto(role string, multiRole bool) []mesos.Resource {
	var out []mesos.Resource
	for _, name := range r.names {
		res := mesos.Resource{Name: name, Role: strptr("*")}
		if multiRole {
			res.AllocationInfo = &mesos.Resource_AllocationInfo{Role: strptr(role)}
		}
		if rs, ok := r.ranges[name]; ok && len(rs) > 0 {
			res.Type = mesos.RANGES.Enum()
			res.Ranges = &mesos.Value_Ranges{Range: rs}
		} else if v, ok := r.scalars[name]; ok && v > 0 {
			res.Type = mesos.SCALAR.Enum()
			res.Scalar = &mesos.Value_Scalar{Value: v}
		} else {
			continue
		}
		out = append(out, res)
	}
	return out
}

func (r resources) plus(o resources) resources {
	var out resources
	for _, x := range []resources{r, o} {
		for _, n := range x.names {
			if v, ok := x.scalars[n]; ok {
				out.addScalar(n, v)
			}
			if rs, ok := x.ranges[n]; ok {
				out.addRanges(n, rs)
			}
		}
	}
	return out
}

func (r resources) minus(o resources) resources {
	var out resources
	for _, n := range r.names {
		if v, ok := r.scalars[n]; ok {
			out.addScalar(n, math.Max(0, v-o.scalars[n]))
		}
		if rs, ok := r.ranges[n]; ok {
			out.addRanges(n, subtract(rs, o.ranges[n]))
		}
	}
	return out
}

// contains reports whether o fits in r.
func (r resources) contains(o resources) bool {
	for _, n := range o.names {
		if v, ok := o.scalars[n]; ok && fixed(v) > r.scalars[n] {
			return false
		}
		if rs := o.ranges[n]; len(subtract(rs, r.ranges[n])) > 0 {
			return false
		}
	}
	return true
}

func (r resources) empty() bool {
	for _, n := range r.names {
		if r.scalars[n] > 0 || len(r.ranges[n]) > 0 {
			return false
		}
	}
	return true
}

// allocatable is the master's minimum for an offer: 0.01 cpus or 32 MB.
func (r resources) allocatable() bool { return r.scalars["cpus"] >= 0.01 || r.scalars["mem"] >= 32 }

// String formats r as the master's messages do:
// "cpus(allocated: *):64; ports(allocated: *):[31000-32000]".
func (r resources) String(role string) string {
	var parts []string
	for _, n := range r.names {
		var v string
		if rs, ok := r.ranges[n]; ok && len(rs) > 0 {
			var s []string
			for _, x := range rs {
				s = append(s, fmt.Sprintf("%d-%d", x.Begin, x.End))
			}
			v = "[" + strings.Join(s, ", ") + "]"
		} else if x, ok := r.scalars[n]; ok && x > 0 {
			v = strconv.FormatFloat(x, 'f', -1, 64)
		} else {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s(allocated: %s):%s", n, role, v))
	}
	return strings.Join(parts, "; ")
}

// normalizeRanges sorts ranges and merges overlapping or adjacent ones.
func normalizeRanges(rs []mesos.Value_Range) []mesos.Value_Range {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Begin < rs[j].Begin })
	var out []mesos.Value_Range
	for _, x := range rs {
		if x.End < x.Begin {
			continue
		}
		if n := len(out); n > 0 && x.Begin <= out[n-1].End+1 {
			out[n-1].End = max(out[n-1].End, x.End)
			continue
		}
		out = append(out, x)
	}
	return out
}

// subtract returns the parts of a not in b.
func subtract(a, b []mesos.Value_Range) []mesos.Value_Range {
	out := normalizeRanges(append([]mesos.Value_Range{}, a...))
	for _, y := range b {
		var next []mesos.Value_Range
		for _, x := range out {
			if y.End < x.Begin || y.Begin > x.End {
				next = append(next, x)
				continue
			}
			if x.Begin < y.Begin {
				next = append(next, mesos.Value_Range{Begin: x.Begin, End: y.Begin - 1})
			}
			if x.End > y.End {
				next = append(next, mesos.Value_Range{Begin: y.End + 1, End: x.End})
			}
		}
		out = next
	}
	return out
}

func strptr(s string) *string { return &s }
