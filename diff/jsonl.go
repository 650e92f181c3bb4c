package diff

// PLACEHOLDER (issue 14): replaced by the JSON Lines comparison.

// compareJSONLines compares two bodies of one JSON value per line; ok is
// false if a line of one is not JSON.
func compareJSONLines(l, s []byte, r *Rules) ([]Difference, bool) { return nil, false }
