package media

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/ivrflow/ivrflow/media/audio"
	"github.com/ivrflow/ivrflow/workflows"
)

// Register registers the media activities, under the names the call
// workflow uses for Graph's, on a worker for s.TaskQueue().
func (s *Server) Register(r worker.ActivityRegistry) {
	for name, fn := range map[string]any{
		workflows.ActAnswer: s.Answer, workflows.ActSubscribe: s.SubscribeToTone, workflows.ActPlay: s.PlayPrompt,
		workflows.ActCancelMedia: s.CancelMediaProcessing, workflows.ActRecord: s.RecordResponse,
		workflows.ActDownload: s.DownloadRecording, workflows.ActTransfer: s.Transfer, workflows.ActRedirect: s.Redirect,
		workflows.ActReject: s.Reject, workflows.ActHangup: s.Hangup, workflows.ActKeepAlive: s.KeepAlive,
		workflows.ActMediaSession: s.MediaSession,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

// held returns a call this process holds; a call it does not hold, or one
// that has ended, fails the activity for good, as Graph's 404 does.
func (s *Server) held(id string) (*call, error) {
	s.mu.Lock()
	c, ok := s.calls[id]
	s.mu.Unlock()
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("call %s is not held by this media worker (it has ended)", id), "CallEnded", nil)
	}
	return c, nil
}

// Answer answers the call: the caller starts to hear the flow.
func (s *Server) Answer(ctx context.Context, in workflows.AnswerInput) error {
	c, err := s.held(in.CallID)
	if err != nil {
		return err
	}
	// Prepare the prompts the flow will play first, as Graph prefetches.
	if _, _, err := s.load(ctx, in.Prefetch); err != nil {
		activity.GetLogger(ctx).Warn("prefetching prompts", "error", err)
	}
	c.answer()
	return nil
}

// SubscribeToTone starts sending the caller's digits to the workflow.
func (s *Server) SubscribeToTone(ctx context.Context, in workflows.MediaInput) error {
	c, err := s.held(in.CallID)
	if err != nil {
		return err
	}
	c.subscribe()
	return nil
}

// PlayPrompt queues prompts; the completion is notified when they have
// played.
func (s *Server) PlayPrompt(ctx context.Context, in workflows.MediaInput) error {
	in.Record = nil
	return s.queue(ctx, in)
}

// queue prepares a media operation's prompts and queues it on its call.
func (s *Server) queue(ctx context.Context, in workflows.MediaInput) error {
	c, err := s.held(in.CallID)
	if err != nil {
		return err
	}
	ps, names, err := s.load(ctx, in.Prompts)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "PromptFailed", err)
	}
	if err := c.enqueue(newOp(in.ClientContext, ps, names, in.Record)); err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "CallEnded", err)
	}
	return nil
}

// CancelMediaProcessing stops what plays or records and what is queued.
func (s *Server) CancelMediaProcessing(ctx context.Context, in workflows.MediaInput) error {
	c, err := s.held(in.CallID)
	if err != nil {
		return err
	}
	c.cancelMedia()
	return nil
}

// RecordResponse queues a recording; the completion, with the recording's
// location, is notified when it ends.
func (s *Server) RecordResponse(ctx context.Context, in workflows.MediaInput) error {
	if in.Record == nil {
		return temporal.NewNonRetryableApplicationError("record input has no settings", "BadInput", nil)
	}
	return s.queue(ctx, in)
}

// DownloadRecording reports a recording this worker made: it is already
// in the recording store, where the media worker wrote it.
func (s *Server) DownloadRecording(ctx context.Context, in workflows.DownloadInput) (workflows.DownloadOutput, error) {
	path, ok := strings.CutPrefix(in.Location, "file://")
	dir, _ := filepath.Abs(s.cfg.RecordingDir)
	abs, _ := filepath.Abs(path)
	if !ok || !strings.HasPrefix(abs, dir+string(filepath.Separator)) {
		return workflows.DownloadOutput{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("recording %q is not in this media worker's store", in.Location), "BadInput", nil)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return workflows.DownloadOutput{}, temporal.NewNonRetryableApplicationError("recording store: "+err.Error(), "RecordingLost", err)
	}
	// 8 kHz mono 16-bit: 16,000 bytes a second after the 44-byte header.
	return workflows.DownloadOutput{URI: "file://" + abs, Bytes: fi.Size(), Duration: float64(max(fi.Size()-44, 0)) / 16000}, nil
}

// Transfer fails: a WebRTC caller has no telephone number to be
// transferred from. The flow takes its transfer's failure branch.
func (s *Server) Transfer(ctx context.Context, in workflows.ControlInput) error {
	return temporal.NewNonRetryableApplicationError("a WebRTC call cannot be transferred (there is no telephone network behind it)", "NotSupported", nil)
}

// Redirect ends the call: a WebRTC call cannot be sent elsewhere.
func (s *Server) Redirect(ctx context.Context, in workflows.ControlInput) error {
	if c, err := s.held(in.CallID); err == nil {
		c.end(endRedirected)
	}
	return nil
}

// Reject refuses the call.
func (s *Server) Reject(ctx context.Context, in workflows.ControlInput) error {
	if c, err := s.held(in.CallID); err == nil {
		c.end(endRejected)
	}
	return nil
}

// Hangup ends the call. A call already ended is not an error.
func (s *Server) Hangup(ctx context.Context, in workflows.ControlInput) error {
	if c, err := s.held(in.CallID); err == nil {
		c.end(endHangup)
	}
	return nil
}

// KeepAlive has nothing to do: the call lives as long as its media.
func (s *Server) KeepAlive(ctx context.Context, in workflows.ControlInput) error { return nil }

// sessionBeat is how often MediaSession heartbeats.
const sessionBeat = 2 * time.Second

// MediaSession runs while the call lasts and the workflow wants it,
// heartbeating. It returns nil once the call has ended here; if this
// process dies, its heartbeats stop and the workflow ends the call.
func (s *Server) MediaSession(ctx context.Context, in workflows.MediaSessionInput) error {
	s.mu.Lock()
	c, held := s.calls[in.CallID]
	if !held {
		c = s.recent[in.CallID]
	}
	s.mu.Unlock()
	if c == nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("call %s is not held by this media worker", in.CallID), "CallLost", nil)
	}
	c.attach()
	defer c.detach()
	tick := time.NewTicker(sessionBeat)
	defer tick.Stop()
	for {
		activity.RecordHeartbeat(ctx)
		select {
		case <-c.flushed:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// load prepares prompts' audio, keeping what it loaded.
func (s *Server) load(ctx context.Context, ps []workflows.Prompt) ([]*audio.Prompt, []string, error) {
	out := make([]*audio.Prompt, 0, len(ps))
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		path, err := s.cfg.Prompts.Path(ctx, p)
		if err != nil {
			return nil, nil, err
		}
		a, err := s.cache.get(path)
		if err != nil {
			return nil, nil, fmt.Errorf("prompt %s: %w", p.Name, err)
		}
		out = append(out, a)
		names = append(names, p.Name)
	}
	return out, names, nil
}

// promptCache keeps loaded prompts by file: the files are named by their
// content's hash, so an entry never goes stale.
type promptCache struct {
	mu sync.Mutex
	m  map[string]*audio.Prompt
}

// maxCachedPrompts bounds the cache; past it, it starts again.
const maxCachedPrompts = 512

func (pc *promptCache) get(path string) (*audio.Prompt, error) {
	pc.mu.Lock()
	if p, ok := pc.m[path]; ok {
		pc.mu.Unlock()
		return p, nil
	}
	pc.mu.Unlock()
	p, err := audio.LoadPrompt(path)
	if err != nil {
		return nil, err
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.m == nil || len(pc.m) >= maxCachedPrompts {
		pc.m = map[string]*audio.Prompt{}
	}
	pc.m[path] = p
	return p, nil
}
