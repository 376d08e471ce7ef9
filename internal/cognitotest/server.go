package cognitotest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is a Service listening on a TCP address.
type Server struct {
	*Service
	// URL is the endpoint to give the SDK (BaseEndpoint / --endpoint-url).
	URL string
	srv *http.Server
	ln  net.Listener
}

// Start serves a new Service on addr ("127.0.0.1:0" when empty) until Close.
func Start(addr string, opts Options) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fake cognito: listen on %s: %w", addr, err)
	}
	s := &Server{
		Service: New(opts),
		URL:     "http://" + ln.Addr().String(),
		ln:      ln,
	}
	s.Service.url = s.URL
	s.srv = &http.Server{Handler: s.Service, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			// The listener failed; Close reports nothing more useful.
			_ = err
		}
	}()
	return s, nil
}

// Close stops the server at once.
func (s *Server) Close() error { return s.srv.Close() }

// Shutdown stops accepting calls and waits for those in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// TB is the part of testing.TB the helpers need; it keeps package testing
// out of binaries that embed the fake (cogvault demo, fake-cognito).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// NewTestServer starts a server on loopback and closes it when the test ends.
func NewTestServer(tb TB, opts Options) *Server {
	tb.Helper()
	s, err := Start("", opts)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
