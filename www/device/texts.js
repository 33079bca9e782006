// The texts the device page shows, by key of <softap-setup>'s table (www/i18n.js): the page's
// own group there (keys starting with "page") and texts it shares with the element.
// scripts/device-page.mjs ships exactly these, in the languages asked for; tests/js checks
// that every one exists in every language and that the page uses no other.
export const TEXT_KEYS = [
  "pageTalking", "pageStopped", "pageBack", "pageNone", "pageUnknownSecurity", "pageUnclear", "pageConnectTo",
  "pageSealed", "pagePeap", "pageTls", "pageTlsDirect", "pageUnreachable", "pageCharacter", "pageUnsupported",
  "pageFirmware", "pageWepKey", "pageEnterprise", "pageLost",
  "networksTitle", "password", "showPassword", "user", "eap", "connect", "rescan", "sending", "rejoinTitle",
  "rejoinText", "continue", "sealTitle", "handoff-invalid", "fingerprint-mismatch", "network-not-found",
  "passphrase-length", "password-required", "timeout", "device-error",
];
