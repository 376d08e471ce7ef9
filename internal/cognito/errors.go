package cognito

import (
	"errors"

	"github.com/aws/smithy-go"
)

// Code returns the Cognito exception name of err ("UserNotFoundException",
// …), or "" when err did not come from the service.
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// IsUserNotFound reports whether err says the user does not exist.
func IsUserNotFound(err error) bool { return Code(err) == "UserNotFoundException" }

// IsUsernameExists reports whether err says the username is taken.
func IsUsernameExists(err error) bool { return Code(err) == "UsernameExistsException" }

// IsGroupExists reports whether err says the group already exists.
func IsGroupExists(err error) bool { return Code(err) == "GroupExistsException" }

// IsNotFound reports whether err says the pool, group or other resource does
// not exist.
func IsNotFound(err error) bool { return Code(err) == "ResourceNotFoundException" }

// IsThrottle reports whether err is Cognito's request-rate throttle.
func IsThrottle(err error) bool { return Code(err) == "TooManyRequestsException" }

// IsInvalidParameter reports whether the service refused a parameter (for
// ListUsers: a filter it cannot parse or an attribute it cannot search).
func IsInvalidParameter(err error) bool { return Code(err) == "InvalidParameterException" }

// IsRefused reports whether the service refused a call for a reason a retry
// cannot change: AccessDeniedException (IAM denies the action; a common error
// of every AWS API) or OperationNotEnabledException ("not available
// in the current region or for the current user pool configuration", as the
// SDK's service model declares it for GetUICustomization,
// DescribeUserPoolDomain, ListResourceServers and ListUsers).
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/CommonErrors.html
func IsRefused(err error) bool {
	switch Code(err) {
	case "AccessDeniedException", "OperationNotEnabledException":
		return true
	}
	return false
}
