package cognitotest

import (
	"fmt"
	"strconv"
	"strings"
)

// CloudWatch Logs, as far as a user import job needs it: Cognito writes one
// event per CSV line to the log group /aws/cognito/userpools/<pool-id>/<pool-name>,
// stream <job-id>/<job-name>, as "[SUCCEEDED|SKIPPED|FAILED] Line Number N - reason".
// https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-using-import-tool-cli-cloudwatch-iam-role.html
// The fake serves GetLogEvents on the same endpoint (X-Amz-Target
// Logs_20140328.GetLogEvents): point a CloudWatch Logs client at it
// (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS; cogvault's --endpoint-url is Cognito's
// only) and it reads job logs too.

const logsTargetPrefix = "Logs_20140328."

var logsHandlers = map[string]handlerFunc{
	"GetLogEvents": getLogEvents,
}

// ImportLogGroup is the log group of a pool's import jobs.
func ImportLogGroup(poolID, poolName string) string {
	return "/aws/cognito/userpools/" + poolID + "/" + poolName
}

func getLogEvents(s *Service, body []byte) (any, *apiError) {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
		NextToken     string `json:"nextToken"`
		Limit         *int   `json:"limit"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit := 10000
	if in.Limit != nil && *in.Limit > 0 && *in.Limit < limit {
		limit = *in.Limit
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var job *importJob
	for _, j := range s.jobs {
		p := s.pools[j.poolID]
		if p != nil && ImportLogGroup(p.id, p.name) == in.LogGroupName && in.LogStreamName == j.id+"/"+j.name {
			job = j
		}
	}
	if job == nil {
		return nil, newErr("ResourceNotFoundException", "The specified log stream does not exist.")
	}
	start := 0
	if t, ok := strings.CutPrefix(in.NextToken, "f/"); ok {
		start, _ = strconv.Atoi(t)
	}
	start = min(max(start, 0), len(job.log))
	end := min(start+limit, len(job.log))
	events := make([]map[string]any, 0, end-start)
	ts := job.started.UnixMilli()
	for _, msg := range job.log[start:end] {
		events = append(events, map[string]any{"timestamp": ts, "ingestionTime": ts, "message": msg})
	}
	// Like the real service, the forward token at the end is the one passed
	// in: a reader stops when the token repeats.
	return map[string]any{"events": events, "nextForwardToken": fmt.Sprintf("f/%d", end), "nextBackwardToken": fmt.Sprintf("b/%d", start)}, nil
}
