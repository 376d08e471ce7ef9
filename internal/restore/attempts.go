package restore

import (
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/awsx"
)

// attempts counts one call's attempts (see awsx.Attempts).
type attempts struct{ awsx.Attempts }

func (a *attempts) option(o *cip.Options) { o.APIOptions = append(o.APIOptions, a.Middleware) }

func (a *attempts) retried() bool { return a.Retried() }
