//go:build !unix

package upstream

// idlePeek is not available on this platform: a connection closed while
// idle is found when it fails, and the request is retried.
type idlePeek struct{}

func newIdlePeek(*leanConn) *idlePeek { return nil }

// quiet cannot look at an idle socket here and assumes it is fine.
func (c *leanConn) quiet() bool { return true }
