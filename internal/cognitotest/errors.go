package cognitotest

import (
	"fmt"
	"net/http"
)

// apiError is an error as Cognito puts it on the wire: HTTP status, the
// exception name in "__type" and a human message.
// Wire format: https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newErr(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

// Exception names from the Cognito API reference "Errors" sections, e.g.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html#API_ListUsers_Errors
func errInvalidParameter(format string, args ...any) *apiError {
	return newErr("InvalidParameterException", format, args...)
}

func errResourceNotFound(format string, args ...any) *apiError {
	return newErr("ResourceNotFoundException", format, args...)
}

func errPoolNotFound(poolID string) *apiError {
	return errResourceNotFound("User pool %s does not exist.", poolID)
}

func errUserNotFound() *apiError {
	return newErr("UserNotFoundException", "User does not exist.")
}

func errUsernameExists() *apiError {
	return newErr("UsernameExistsException", "User account already exists")
}

func errGroupExists(name string) *apiError {
	return newErr("GroupExistsException", "A group with the name %s already exists.", name)
}

func errGroupNotFound() *apiError {
	return errResourceNotFound("Group not found.")
}

// errTooManyRequests is Cognito's throttle: HTTP 400, "Rate exceeded".
func errTooManyRequests() *apiError {
	return newErr("TooManyRequestsException", "Rate exceeded")
}

func errInternal() *apiError {
	return &apiError{status: http.StatusInternalServerError, code: "InternalErrorException", message: "Internal server error."}
}

// validationErr mimics the Coral validation message Cognito returns for a
// member that violates its modelled constraint, e.g. ListUsers Limit=61:
// "1 validation error detected: Value '61' at 'limit' failed to satisfy
// constraint: Member must have value less than or equal to 60".
func validationErr(value any, member, constraint string) *apiError {
	return errInvalidParameter("1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}
