package etcdstate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
)

// TestLoginAfterRestart opens a store as root, writes a key (so that
// etcd's backend records the log-in as applied and a restart does not
// replay it), restarts etcd, which forgets the token, and reads again
// through the store's client: the client must log in afresh, or, when
// the password changed meanwhile, fail naming the refusal and log it
// once, naming the user and not the password.
func TestLoginAfterRestart(t *testing.T) {
	const env = "STRANGLER_TEST_ETCD_PASSWORD"
	cases := []struct {
		name       string
		newPass    string // set on etcd before the restart; "" keeps it
		wantErr    string // "" for success
		wantLogged string
	}{
		{"token forgotten", "", "", ""},
		{"password changed", "changed-elsewhere", "authentication failed", "logging in to etcd failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := etcdtest.Start(t)
			password := fmt.Sprintf("pw-%d-secret", time.Now().UnixNano())
			m.EnableAuth(password)
			t.Setenv(env, password)
			logs := &syncBuffer{}
			st, err := etcdstate.Open(etcdstate.Options{Replica: "r1", Log: zerolog.New(logs), Config: config.Etcd{
				Endpoints: []string{m.ClientURL}, Prefix: "/strangler/" + t.Name(), DialTimeout: secureDialTimeout,
				Username: "root", PasswordEnv: env}})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer st.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if _, err := st.Client().Put(ctx, "/strangler/"+t.Name()+"/k", "v"); err != nil {
				t.Fatalf("put before the restart: %v", err)
			}
			if tc.newPass != "" {
				if _, err := st.Client().UserChangePassword(ctx, "root", tc.newPass); err != nil {
					t.Fatalf("changing root's password: %v", err)
				}
			}
			time.Sleep(300 * time.Millisecond) // etcd commits its backend every 100 ms
			m.Restart()
			rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
			defer rcancel()
			start := time.Now()
			_, err = st.Client().Get(rctx, "/strangler/"+t.Name()+"/k")
			t.Logf("first read after the restart: %v after %s", err, time.Since(start).Round(time.Millisecond))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("read after etcd restarted: %v\nlogs:\n%s", err, logs)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("read after etcd restarted: %v, want an error naming %q", err, tc.wantErr)
			}
			got := logs.String()
			if tc.wantLogged != "" && (strings.Count(got, tc.wantLogged) != 1 || !strings.Contains(got, `"user":"root"`)) {
				t.Errorf("logs want %q once, naming the user:\n%s", tc.wantLogged, got)
			}
			for _, secret := range []string{password, tc.newPass} {
				if secret != "" && strings.Contains(got, secret) {
					t.Errorf("the logs show a password:\n%s", got)
				}
			}
		})
	}
}
