package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/stranglerfig/strangler/stage"
)

// adminClient talks to a running proxy's admin API.
type adminClient struct {
	base     string
	token    string
	tokenEnv string
	http     *http.Client
}

func newAdminClient(base, tokenEnv string) *adminClient {
	return &adminClient{
		base:     strings.TrimSuffix(base, "/"),
		token:    os.Getenv(tokenEnv),
		tokenEnv: tokenEnv,
		http:     &http.Client{Timeout: 15 * time.Second},
	}
}

// apiError is an error the admin API answered.
type apiError struct {
	Status int
	Msg    string `json:"error"`
	Field  string `json:"field"`
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (field %s, HTTP %d)", e.Msg, e.Field, e.Status)
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Msg, e.Status)
}

// do sends a request with an optional JSON body and decodes the answer
// into out.
func (c *adminClient) do(ctx context.Context, method, path string, body, out any) error {
	data, err := c.raw(ctx, method, path, body)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the admin API at %s answered something that is not the expected JSON: %w", c.base, err)
	}
	return nil
}

// raw sends a request and returns the answer's body.
func (c *adminClient) raw(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("admin URL %q: %w", c.base, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.unreachable(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the admin API's answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		return nil, c.failure(resp.StatusCode, data)
	}
	return data, nil
}

func (c *adminClient) unreachable(err error) error {
	hint := "is strangler serving, and is --admin right?"
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("cannot reach the admin API at %s: connection refused (%s)", c.base, hint)
	}
	return fmt.Errorf("cannot reach the admin API at %s: %w (%s)", c.base, err, hint)
}

func (c *adminClient) failure(status int, data []byte) error {
	e := &apiError{Status: status}
	if json.Unmarshal(data, e) != nil || e.Msg == "" {
		e.Msg = strings.TrimSpace(string(data))
	}
	if status == http.StatusUnauthorized {
		if c.token == "" {
			return fmt.Errorf("the admin API needs a token: set %s (%s)", c.tokenEnv, e.Msg)
		}
		return fmt.Errorf("the admin API refused the token in %s (%s)", c.tokenEnv, e.Msg)
	}
	return e
}

// positionString renders a position for tables.
func positionString(p stage.Position) string {
	if p.Stage == "" {
		return "-"
	}
	return p.String()
}
