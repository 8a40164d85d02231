/**
 * The look the gateway's own pages share (the catalog dashboard, /admin): the
 * dark header with its connection dot, the figure cards. One copy, so the
 * pages stay alike.
 */
export const PAGE_CHROME_CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1f2937;background:#f8fafc}
header{background:#111827;color:#e5e7eb;padding:1rem 1.5rem;display:flex;flex-wrap:wrap;gap:.8rem;align-items:stretch}
header h1{font-size:1.2rem;margin:0 1rem 0 0;align-self:center;display:flex;align-items:center;gap:.5rem}
#dot{width:.7rem;height:.7rem;border-radius:50%;background:#9ca3af;display:inline-block}
#dot.connected{background:#2dd4bf;box-shadow:0 0 6px #2dd4bf}#dot.reconnecting,#dot.connecting{background:#f59e0b}#dot.disconnected,#dot.unauthorized,#dot.forbidden{background:#ef4444}
.card{background:#1f2937;border-radius:6px;padding:.4rem .7rem;min-width:8rem}
.card b{display:block;font-size:1.3rem;font-variant-numeric:tabular-nums;color:#fff}
.card span{font-size:.75rem;color:#9ca3af;text-transform:uppercase;letter-spacing:.04em}`;
