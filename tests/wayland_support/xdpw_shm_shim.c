// Preloaded into xdg-desktop-portal-wlr 0.7.0 for the Wayland capture test.
// That version refuses to cast unless the compositor announces a DMA-BUF
// format for screencopy (screencast.c:199 checks the *portal's* version, 3+,
// instead of screencopy's), which a GPU-less compositor (pixman) never does
// (upstream issue #289). This shim announces the shared-memory format as a
// DMA-BUF one too; with no GPU, xdpw offers PipeWire no DMA-BUF modifiers,
// so the cast still runs on shared memory end to end.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

struct wl_proxy;
extern const char *wl_proxy_get_class(struct wl_proxy *proxy);

typedef void (*buffer_fn)(void *, void *, uint32_t, uint32_t, uint32_t, uint32_t);
typedef void (*dmabuf_fn)(void *, void *, uint32_t, uint32_t, uint32_t);
// zwlr_screencopy_frame_v1 events: buffer, flags, ready, failed, damage, linux_dmabuf, buffer_done.
struct frame_listener { buffer_fn buffer; void *flags, *ready, *failed, *damage; dmabuf_fn linux_dmabuf; void *buffer_done; };

static const struct frame_listener *orig;
static struct frame_listener ours;

static void on_buffer(void *data, void *frame, uint32_t format, uint32_t w, uint32_t h, uint32_t stride) {
	orig->buffer(data, frame, format, w, h, stride);
	// wl_shm's two legacy codes differ from DRM fourccs; the rest are equal.
	uint32_t fourcc = format == 0 ? 0x34325241 /* AR24 */ : format == 1 ? 0x34325258 /* XR24 */ : format;
	if (orig->linux_dmabuf) orig->linux_dmabuf(data, frame, fourcc, w, h);
}

int wl_proxy_add_listener(struct wl_proxy *proxy, void (**implementation)(void), void *data) {
	static int (*real)(struct wl_proxy *, void (**)(void), void *);
	if (!real) real = dlsym(RTLD_NEXT, "wl_proxy_add_listener");
	if (strcmp(wl_proxy_get_class(proxy), "zwlr_screencopy_frame_v1") == 0) {
		if (!orig) {
			orig = (const struct frame_listener *)implementation;
			ours = *orig;
			ours.buffer = on_buffer;
		}
		if ((const struct frame_listener *)implementation == orig)
			return real(proxy, (void (**)(void))&ours, data);
	}
	return real(proxy, implementation, data);
}
