/** What saveFile receives from the renderer, as bytes: a data: URL (chart PNG/SVG) or plain text (tables). */
export function fileBytes(content: string): Buffer {
  const m = /^data:([^,]*?)(;base64)?,(.*)$/s.exec(content);
  if (!m) return Buffer.from(content, 'utf8');
  return m[2] ? Buffer.from(m[3], 'base64') : Buffer.from(decodeURIComponent(m[3]), 'utf8');
}
