/** `Allow: (opus|ulaw)` → `['opus', 'ulaw']`. */
export function parseAllow(raw: string): string[] {
  return raw
    .replace(/[()]/g, '')
    .split(/[|,]/)
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
}

/** Translator module of a codec name in `allow=`; `codec_opus` also matches `codec_opus_open_source`. */
export const CODEC_MODULES: Readonly<Record<string, string>> = {
  opus: 'codec_opus',
  g729: 'codec_g729',
  g722: 'codec_g722',
  ulaw: 'codec_ulaw',
  alaw: 'codec_alaw',
  gsm: 'codec_gsm',
  g726: 'codec_g726',
  g726aal2: 'codec_g726',
  ilbc: 'codec_ilbc',
  speex: 'codec_speex',
  speex16: 'codec_speex',
  speex32: 'codec_speex',
  lpc10: 'codec_lpc10',
  adpcm: 'codec_adpcm',
  silk: 'codec_silk',
  codec2: 'codec_codec2',
};
