// Browsers ask every page for /favicon.ico unless the page names an icon; the server-rendered API
// reference (/docs) names none, so the app's one icon answers here too.
export function GET(req: Request): Response {
  return Response.redirect(new URL("/icon.svg", req.url), 308);
}
