package tracing

import (
	"context"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Counts are the spans this process finished and what became of them:
// Ended sampled spans went to the batch processor's queue; Exported and
// Failed left it in an export that succeeded or failed. The rest were
// dropped at a full queue or are still queued (at most the queue size):
// dropped ≈ Ended − Exported − Failed − queued.
type Counts struct {
	Ended, Exported, Failed uint64
}

// counter holds Counts as they change.
type counter struct {
	ended, exported, failed atomic.Uint64
}

// countingProcessor counts the sampled spans handed to the processor it
// wraps.
type countingProcessor struct {
	sdktrace.SpanProcessor
	c *counter
}

// OnEnd counts a sampled span and hands it on.
func (p countingProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		p.c.ended.Add(1)
	}
	p.SpanProcessor.OnEnd(s)
}

// countingExporter counts the spans of each export by its outcome.
type countingExporter struct {
	sdktrace.SpanExporter
	c *counter
}

// ExportSpans exports spans and counts them as exported or failed.
func (e countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.c.failed.Add(uint64(len(spans)))
	} else {
		e.c.exported.Add(uint64(len(spans)))
	}
	return err
}

// Counts returns the span counts so far (zero when tracing is off).
func (t *Tracer) Counts() Counts {
	if t == nil {
		return Counts{}
	}
	return Counts{Ended: t.counts.ended.Load(), Exported: t.counts.exported.Load(), Failed: t.counts.failed.Load()}
}
