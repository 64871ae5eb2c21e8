// @ts-check
/** The panel's CSS (the launcher's is in the loader). Sizes in px: rem would follow the page. */

export const CSS = `
.p{position:fixed;bottom:88px;right:20px;width:370px;height:min(600px,calc(100vh - 110px));display:flex;flex-direction:column;box-sizing:border-box;background:#fff;color:#1f2328;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.28);overflow:hidden}
.left .p{right:auto;left:20px}
[hidden]{display:none!important}
.h{display:flex;align-items:center;gap:8px;padding:12px 8px 12px 16px;background:var(--a);color:var(--at)}
.h>div{flex:1;min-width:0}
h2{margin:0;font-size:16px;font-weight:600;line-height:1.3}
.h p{margin:2px 0 0;font-size:13px}
.x{flex:none;width:40px;height:40px;border:0;border-radius:8px;background:transparent;color:inherit;font:28px/1 sans-serif;cursor:pointer}
.n{padding:8px 16px;background:#fff4d6;color:#3d2e00;font-size:13px;border-bottom:1px solid #efd98f}
.g{flex:1;overflow-y:auto;margin:0;padding:12px 16px;display:flex;flex-direction:column;gap:10px;background:#f6f7f9}
.m{max-width:82%;align-self:flex-start}
.m.me{align-self:flex-end}
.t{padding:8px 12px;border-radius:14px;background:#fff;border:1px solid #dde1e6;white-space:pre-wrap;overflow-wrap:anywhere}
.me .t{background:var(--a);color:var(--at);border-color:transparent}
.t a{color:inherit;text-decoration:underline}
.s{margin-top:2px;font-size:11px;color:#4d5661}
.me .s{text-align:right}
.y{align-self:center;max-width:90%;font-size:12px;color:#4d5661;text-align:center}
.k{min-height:18px;padding:0 16px;background:#f6f7f9;font-size:12px;color:#4d5661}
form{margin:0}
.c{padding:10px 12px;border-top:1px solid #dde1e6}
.row{display:flex;gap:8px;align-items:flex-end;flex-wrap:wrap}
textarea,input,select{box-sizing:border-box;width:100%;margin:2px 0 0;padding:8px 10px;border:1px solid #848d97;border-radius:8px;background:#fff;color:#1f2328;font:inherit}
.row textarea{flex:1;width:auto;min-height:40px;max-height:120px;resize:none}
.sb{flex:none;width:44px;height:40px;border:0;border-radius:8px;background:var(--a);color:var(--at);cursor:pointer}
.sb svg{width:20px;height:20px;fill:currentColor}
.ab{order:-1;flex:none;width:36px;height:40px;padding:0;border:0;border-radius:8px;background:transparent;color:#4d5661;cursor:pointer}
.ab svg{width:22px;height:22px;fill:currentColor}
.ap{display:flex;align-items:center;gap:8px;margin:0 0 8px;font-size:13px}
.ap img,.ap .fi{flex:none;width:48px;height:48px;object-fit:cover;border-radius:6px}
.ap>span{flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.ap .x{color:#4d5661}
.ae{margin:0 0 6px;font-size:13px}.ae:empty{display:none}
.ta .at{display:block;margin:0 0 4px;color:inherit}
.at img{display:block;max-width:100%;max-height:220px;border-radius:8px;background:#dde1e6}
.fi{display:flex;flex-direction:column;justify-content:center;padding:6px 10px;border-radius:8px;background:rgba(0,0,0,.08);font-size:12px;text-decoration:none}
.fn{font-weight:600;overflow-wrap:anywhere}
.pg{display:block;height:4px;margin-top:4px;border-radius:2px;background:rgba(0,0,0,.2);overflow:hidden}
.pg span{display:block;height:100%;width:0;background:currentColor;transition:width .2s}
.dz .g{outline:2px dashed var(--a);outline-offset:-6px}
label{display:block;margin:0 0 8px;font-size:12px;color:#3b434b}
.f{padding:10px 16px;border-top:1px solid #dde1e6;overflow-y:auto}
.f p{margin:0 0 8px}
.bt,.bt2{margin:4px 8px 4px 0;padding:8px 14px;border-radius:8px;font:inherit;cursor:pointer}
.bt{border:0;background:var(--a);color:var(--at)}
.bt2{border:1px solid #848d97;background:#fff;color:#1f2328}
.r{margin:0;padding:0;border:0;background:none;color:inherit;font:inherit;text-decoration:underline;cursor:pointer}
.e{color:#b3261e}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
:focus-visible{outline:2px solid #0b57d0;outline-offset:2px}
.h>.fc{display:flex;flex:none;padding-left:8px}
.fc .av{width:32px;height:32px;margin-right:-8px;border:2px solid var(--a);font-size:13px}
.fc .av:last-child{margin-right:0}
.av{flex:none;display:inline-grid;place-items:center;width:28px;height:28px;box-sizing:border-box;border-radius:50%;color:#fff;font-size:12px;font-weight:700;line-height:1}
.eb{flex:none;padding:4px 10px;border:1px solid currentColor;border-radius:8px;background:transparent;color:inherit;font:inherit;font-size:13px;cursor:pointer}
.h :focus-visible{outline-color:currentColor}
.cf{display:flex;flex-wrap:wrap;align-items:center;gap:4px 8px;padding:8px 16px;background:#fff4d6;color:#3d2e00;border-bottom:1px solid #efd98f}
.cf p{margin:0;flex:1 1 100%}
.m.ag{display:flex;gap:8px;align-items:flex-start}
.m.ag>div{min-width:0}
.nm{font-weight:600;color:#1f2328}
.ag .s{margin:0 0 2px}
.rb{display:inline-flex;align-items:center;gap:6px}
.rb svg{width:18px;height:18px;fill:currentColor}
.rb.bad svg{transform:rotate(180deg)}
.rb[aria-pressed=true]{border-color:var(--a);box-shadow:inset 0 0 0 1px var(--a)}
.rb:disabled{cursor:default}
.rb:disabled:not([aria-pressed=true]){opacity:.55}
.wl{margin:4px 0 0;font-size:12px;color:#4d5661}
.wl:empty{display:none}
.w0{font-size:14px;color:#1f2328;background:#fff;border:1px solid #dde1e6;border-radius:14px;padding:8px 12px;align-self:flex-start;text-align:left}
.fq{padding:8px 12px 0;border-top:1px solid #dde1e6;font-size:13px}
.fq p{margin:0 0 4px;color:#4d5661}
.fq ul{margin:0;padding:0;list-style:none}
.qi{display:block;width:100%;margin:0 0 4px;padding:6px 10px;border:1px solid #dde1e6;border-radius:8px;background:#fff;color:#1f2328;font:inherit;text-align:left;cursor:pointer}
.qi span{display:block;color:#4d5661;font-size:12px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.fr{flex:1;overflow-y:auto;padding:12px 16px;background:#fff}
.fr h3{margin:8px 0;font-size:16px}
.qb{overflow-wrap:anywhere}
.qb img{max-width:100%}
.qb a{color:#0b57d0}
.qf{margin-top:12px}
.qt{margin:0 0 8px}
@media (max-width:480px){.p,.left .p{top:0;left:0;right:0;bottom:auto;width:100%;height:100%;border-radius:0}.open .l{display:none}textarea,input,select{font-size:16px}}
`;
