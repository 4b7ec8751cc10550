import { describe, expect, it } from "vitest";
import { audioValue, portalOffer, videoChoices, videoValue } from "./sources";

const win = (id: number, title: string) => ({ id, title, width: 800, height: 600 });

describe("Go live's video choices", () => {
  it("offers each open window by title between the screen and a file", () => {
    const c = videoChoices([win(1, "Slides: Q3 review"), win(2, "Terminal"), win(3, "Terminal")]);
    expect(c.map(([v]) => v)).toEqual(["test", "camera", "screen", "window:Slides: Q3 review", "window:Terminal", "file"]);
    expect(c[3][1]).toBe("Window: Slides: Q3 review");
  });
  it("cuts a long title with a visible ellipsis", () => {
    const c = videoChoices([win(1, "A browser tab with a very long page title that goes on — Chromium")]);
    expect(c[3][1].endsWith("…")).toBe(true);
    expect(c[3][0]).toBe("window:A browser tab with a very long page title that goes on — Chromium");
  });
  it("maps a job's spec back to a picker value, or none when the window is gone", () => {
    const values = videoChoices([win(1, "Terminal")]).map(([v]) => v);
    expect(videoValue("window:Terminal", values)).toBe("window:Terminal");
    expect(videoValue("window:Closed since", values)).toBeNull();
    expect(videoValue("camera:1", values)).toBe("camera");
    expect(videoValue("file:/tmp/a:b.mp4", values)).toBe("file");
    expect(videoValue("screen::0", values)).toBe("screen");
    expect(videoValue("test", values)).toBe("test");
  });
  it("offers the Wayland screen, and a window where the portal offers one, when a portal answers", () => {
    const none = portalOffer(["screen        X11 display :0 (x11grab)"]);
    expect(none).toEqual({ screen: false, window: false });
    const wlr = portalOffer(["screen        Wayland screen, picked in the desktop's sharing dialog (xdg-desktop-portal ScreenCast v4)"]);
    expect(videoChoices([], wlr).map(([v]) => v)).toEqual(["test", "camera", "screen", "file"]);
    expect(videoChoices([], wlr)[2][1]).toContain("sharing dialog");
    const gnome = portalOffer([
      "screen        Wayland screen, picked in the desktop's sharing dialog (xdg-desktop-portal ScreenCast v5)",
      "window:wayland  a window, picked in the desktop's sharing dialog",
    ]);
    const values = videoChoices([win(1, "Terminal")], gnome).map(([v]) => v);
    expect(values).toEqual(["test", "camera", "screen", "window:wayland", "window:Terminal", "file"]);
    expect(videoValue("window:wayland", values)).toBe("window:wayland");
  });
  it("maps a job's audio back to the audio picker", () => {
    expect(audioValue("mic:2,desktop")).toBe("mic,desktop");
    expect(audioValue("test")).toBe("test");
  });
});
