package sandbox_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

func TestDecodeEachVisitsEveryIndexOnceAndReturnsTheLowestError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n       int
		failAt  []int
		wantErr string
	}{
		{n: 0},
		{n: 1},
		{n: 100, failAt: []int{40, 7}, wantErr: "record 7"},
		{n: 20000},
		{n: 20000, failAt: []int{19999, 700, 3000, 701}, wantErr: "record 700"},
	} {
		t.Run(fmt.Sprintf("n=%d,fail=%v", tc.n, tc.failAt), func(t *testing.T) {
			t.Parallel()
			fail := map[int]bool{}
			for _, i := range tc.failAt {
				fail[i] = true
			}
			out := make([]int, tc.n)
			var calls atomic.Int64
			err := sandbox.DecodeEach(tc.n, func(i int) error {
				calls.Add(1)
				out[i]++
				if fail[i] {
					return fmt.Errorf("record %d", i)
				}
				return nil
			})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range out {
					if v != 1 {
						t.Fatalf("index %d decoded %d times", i, v)
					}
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("error %v, want %s", err, tc.wantErr)
			}
			for i, v := range out {
				if v > 1 {
					t.Fatalf("index %d decoded %d times", i, v)
				}
			}
		})
	}
}
