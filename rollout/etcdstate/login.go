package etcdstate

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// login is the etcd client's Auth API with Authenticate sent on a
// second connection that carries no token. The client logs in again
// whenever etcd refuses its token (etcd forgets simple tokens when it
// restarts), but it sends that Authenticate with the refused token, and
// etcd before 3.5 checks the token of every request, Authenticate
// included: it refuses the log-in with "invalid auth token" for ever
// (etcd PR 12165 fixed the server, PR 12549 once worked around it in the
// client; clientv3 3.6 no longer does). On a connection without the
// token the log-in succeeds and the client carries the new token.
type login struct {
	clientv3.Auth                  // the rest of the API, on the main connection
	plain         *clientv3.Client // no user: its requests carry no token
	timeout       time.Duration    // bounds each log-in; 0: the caller's context alone
	log           zerolog.Logger
	failing       atomic.Bool // the last log-in failed
}

// useLogin makes cli log in through a token-less client on the same
// endpoints and TLS as cc, which must name the user. cli must not be in
// use yet: its Auth field is replaced.
func useLogin(cli *clientv3.Client, cc clientv3.Config, log zerolog.Logger) (*login, error) {
	cc.Username, cc.Password = "", ""
	plain, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("opening a token-less client on %v: %w", cc.Endpoints, err)
	}
	l := &login{Auth: cli.Auth, plain: plain, timeout: cc.DialTimeout, log: log}
	cli.Auth = l
	return l, nil
}

// Authenticate logs name in on the token-less connection, within the
// timeout. Its error goes back unwrapped: the client inspects it. The
// first failure after a success is logged, and the next success after
// it; never the password.
func (l *login) Authenticate(ctx context.Context, name, password string) (*clientv3.AuthenticateResponse, error) {
	if l.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.timeout)
		defer cancel()
	}
	resp, err := l.plain.Authenticate(ctx, name, password)
	if err != nil {
		if !l.failing.Swap(true) {
			l.log.Warn().Err(err).Str("user", name).Msg("logging in to etcd failed; retrying with the next request")
		}
		return nil, err
	}
	if l.failing.Swap(false) {
		l.log.Info().Str("user", name).Msg("logged in to etcd again")
	}
	return resp, nil
}

// Close closes the token-less connection.
func (l *login) Close() error { return l.plain.Close() }
