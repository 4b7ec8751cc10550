import { describe, expect, it } from "vitest";
import { previewable, uploadPercent } from "./attachments";

describe("attachments", () => {
  it("previews raster images only", () => {
    expect(previewable("image/png")).toBe(true);
    expect(previewable("image/jpeg")).toBe(true);
    expect(previewable("image/svg+xml")).toBe(false);
    expect(previewable("application/octet-stream")).toBe(false);
  });
  it("upload percent stays within 0–100", () => {
    expect(uploadPercent(0, 0)).toBe(0);
    expect(uploadPercent(50, 200)).toBe(25);
    expect(uploadPercent(300, 200)).toBe(100);
  });
});
