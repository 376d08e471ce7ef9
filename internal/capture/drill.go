package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cogvault/cogvault/internal/drill"
)

// DrillRequest is the invoke {"action": "drill", "sample": N, "snapshot": …}
// that the weekly drill schedule sends.
type DrillRequest struct {
	Action string `json:"action"`
	// Sample restores only this many users (0: all). A Lambda runs at most
	// 15 minutes: a large pool needs a sample.
	Sample int   `json:"sample"`
	Seed   int64 `json:"seed"`
	// Snapshot is an id, a prefix or "latest" (default), of this pool.
	Snapshot string `json:"snapshot"`
}

// drillMargin is the time kept before the invocation's deadline for
// deleting the scratch pool: the runtime stops the function at its
// deadline, and deferred cleanup would not run.
const drillMargin = 90 * time.Second

// drill runs a restore drill of this pool's snapshot and emits DrillSuccess
// (1 or 0) and, once the restore finished, DrillDurationSeconds (its
// measured time).
func (h *Handler) drill(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	var req DrillRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, requestError{fmt.Errorf("drill request: %w (fields: sample, seed, snapshot)", err)}
	}
	if req.Sample < 0 {
		return nil, requestError{fmt.Errorf("drill request: sample %d: give a positive number of users, or leave it out for all", req.Sample)}
	}
	swept := h.sweepDrills(ctx)
	res, err := h.runDrill(ctx, req)
	if res != nil && res.Restore != nil {
		h.metricUnit("DrillDurationSeconds", res.Timing.MeasuredSeconds, "Seconds")
	}
	if err == nil && !res.OK() {
		err = fmt.Errorf("drill %s: %d unexpected difference(s) between snapshot %s and its restore", res.RunID, len(res.Unexpected), res.Snapshot)
	}
	if err != nil {
		h.metricUnit("DrillSuccess", 0, "Count")
		return nil, err
	}
	h.metricUnit("DrillSuccess", 1, "Count")
	h.cfg.Log.Info("drill passed", "run", res.RunID, "snapshot", res.Snapshot, "users", res.UsersDrilled,
		"measuredSeconds", res.Timing.MeasuredSeconds, "projectedSeconds", res.Timing.ProjectedSeconds, "expected", len(res.Expected))
	a := newDrillAnswer(res)
	a.Swept = swept
	return json.Marshal(a)
}

// sweepDrills deletes the scratch pools that drills killed before they
// could delete them left behind (drill.Sweep: name and tag both the
// drill's, older than a day), before a new drill starts. A failed sweep is
// logged and the drill runs all the same: the pools left are named, and the
// next drill tries again.
func (h *Handler) sweepDrills(ctx context.Context) []drill.SweptPool {
	api, ok := h.cfg.Cognito.(drill.SweepAPI)
	if !ok {
		return []drill.SweptPool{}
	}
	res, err := drill.Sweep(ctx, api, drill.SweepOptions{Now: h.cfg.Now})
	if err != nil {
		// Pool ids and names only: no user data in it.
		h.cfg.Log.Warn("drill sweep: a leftover scratch pool could not be deleted; the drill runs all the same", "error", err.Error())
	}
	if res == nil {
		return []drill.SweptPool{}
	}
	for _, p := range res.Pools {
		if p.Deleted {
			h.cfg.Log.Info("drill sweep: deleted a scratch pool a killed drill left behind", "pool", p.PoolID, "name", p.Name)
		}
	}
	return res.Pools
}

// drillAnswer is the drill's result as the worker answers it: "done" (a
// drill is one step; the state machine loops until done), and the
// differences counted rather than listed, for the reasons finalAnswer
// gives (no names in the execution history, 256 KiB at most).
type drillAnswer struct {
	Done bool `json:"done"`
	*drill.Result
	Expected   []differenceCount `json:"expected"`
	Unexpected []differenceCount `json:"unexpected"`
	Restore    *finalAnswer      `json:"restore,omitempty"`
	// Swept are the scratch pools of earlier, killed drills found before
	// this one started: deleted, or kept while young.
	Swept []drill.SweptPool `json:"swept"`
}

// differenceCount counts drill differences of one kind, change and reason.
type differenceCount struct {
	Kind   string `json:"kind"`
	Change string `json:"change"`
	Reason string `json:"reason,omitempty"`
	Count  int    `json:"count"`
}

func newDrillAnswer(res *drill.Result) drillAnswer {
	a := drillAnswer{Done: true, Result: res, Expected: countDifferences(res.Expected), Unexpected: countDifferences(res.Unexpected)}
	if res.Restore != nil {
		r := newFinalAnswer(res.Restore, "")
		a.Restore = &r
	}
	return a
}

func countDifferences(ds []drill.Difference) []differenceCount {
	keys, n := tally(ds, func(d drill.Difference) [3]string { return [3]string{d.Kind, d.Change, d.Reason} })
	out := make([]differenceCount, 0, len(keys))
	for _, k := range keys {
		out = append(out, differenceCount{Kind: k[0], Change: k[1], Reason: k[2], Count: n[k]})
	}
	return out
}

func (h *Handler) runDrill(ctx context.Context, req DrillRequest) (*drill.Result, error) {
	api, ok := h.cfg.Cognito.(drill.API)
	if !ok {
		return nil, errors.New("drill: the Cognito client cannot create or delete pools")
	}
	ref := req.Snapshot
	if ref == "" {
		ref = "latest"
	}
	m, err := h.cfg.Repo.Resolve(ctx, ref, h.cfg.PoolID)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-drillMargin))
		defer cancel()
	}
	runID := h.cfg.Now().UTC().Format("20060102T150405") + "-" + h.eventID()[:8]
	return drill.Run(ctx, api, drill.Options{Repo: h.cfg.Repo, Manifest: m, RunID: runID, Sample: req.Sample, Seed: req.Seed,
		TempDir: os.TempDir(), Now: h.cfg.Now})
}

// metricUnit is metric with a unit other than Count (CloudWatch embedded
// metric format: Metrics[].Unit).
func (h *Handler) metricUnit(name string, value float64, unit string) {
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": h.cfg.Now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "cogvault",
				"Dimensions": [][]string{{"PoolId"}},
				"Metrics":    []any{map[string]string{"Name": name, "Unit": unit}},
			}},
		},
		"PoolId": h.cfg.PoolID,
		name:     value,
	}
	b, _ := json.Marshal(line)
	fmt.Fprintf(h.cfg.Metrics, "%s\n", b)
}
