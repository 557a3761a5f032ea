package wrapper

import (
	"slices"
	"testing"

	"github.com/sockerhpc/socker/internal/earlysignals"
)

// What Main stops on is what is caught from the first initialiser on.
func TestStopSignalsAreCaughtEarly(t *testing.T) {
	for _, s := range stopSignals {
		if !slices.Contains(earlysignals.Caught, s) {
			t.Errorf("%v is a stop signal but earlysignals does not catch it", s)
		}
	}
	for _, s := range earlysignals.Caught {
		if !slices.Contains(stopSignals, s) {
			t.Errorf("earlysignals catches %v, which is not a stop signal", s)
		}
	}
}
