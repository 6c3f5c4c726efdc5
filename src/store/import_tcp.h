/* import_tcp.h - TCP flag unions per direction from Zeek's conn_state/history and Argus's State.
 *
 * A router exports a unidirectional flow with the OR of the TCP flags of the packets it saw in
 * that direction. Zeek and Argus keep one bidirectional record and say in words or letters what
 * each side sent; these functions turn that back into the two flag unions a router would have
 * exported (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80).
 * They are meant for TCP records only: the callers leave tcp_flags 0 for other protocols
 * (Zeek writes S0/SF and history letters for UDP too).
 *
 * Zeek history (uppercase = originator, lowercase = responder; used whenever it is present):
 *   letter  packet                               flags
 *   S s     SYN without ACK                      SYN
 *   H h     SYN+ACK                              SYN ACK
 *   A a     pure ACK                             ACK
 *   D d     payload                              ACK PSH
 *   T t     retransmitted payload                ACK PSH
 *   F f     FIN                                  FIN
 *   R r     RST                                  RST
 *   W w     zero window                          ACK
 *   G g     content gap                          ACK
 *   I i     inconsistent (e.g. FIN+RST)          FIN RST
 *   Q q     multi-flag (SYN+FIN or SYN+RST)      SYN
 *   C c     bad checksum                         (nothing: its flags cannot be trusted)
 *   ^       direction flipped by Zeek            (nothing; the letters are already flipped)
 * and one rule from RFC 9293 (3.10.7.1): a side whose only packets are RSTs answering the other
 * side's SYN sent RST+ACK, so it gets ACK too (Zeek's REJ, history "Sr").
 *
 * Zeek conn_state (used only when history is absent, "-" or empty):
 *   state   originator       responder        meaning
 *   S0      SYN              -                SYN seen, no reply
 *   REJ     SYN              RST ACK          rejected
 *   S1      SYN ACK          SYN ACK          established, not terminated
 *   SF      SYN ACK FIN      SYN ACK FIN      established and closed normally
 *   S2      SYN ACK FIN      SYN ACK          established, only the originator closed
 *   S3      SYN ACK          SYN ACK FIN      established, only the responder closed
 *   RSTO    SYN ACK RST      SYN ACK          established, originator aborted
 *   RSTR    SYN ACK          SYN ACK RST      established, responder aborted
 *   RSTOS0  SYN RST          -                originator sent SYN then RST, no SYN+ACK
 *   RSTRH   -                SYN ACK RST      responder's SYN+ACK then RST, no SYN seen
 *   SH      SYN FIN          -                originator's SYN then FIN, no SYN+ACK
 *   SHR     -                SYN ACK FIN      responder's SYN+ACK then FIN, no SYN seen
 *   OTH     ACK              ACK              no SYN seen, midstream traffic
 * plus PSH on a side whose payload byte count (orig_bytes/resp_bytes) is above 0.
 *
 * Argus State (binetflow): "SRC_DST", each half the letters of the flags that side sent
 * (F S R P A U E C, e.g. S_RA = SYN answered by RST+ACK, FSPA_FSPA = a full exchange). The
 * single-word TCP states say less:
 *   REQ  SYN / -        ACC  SYN / SYN ACK     CON  ACK / ACK      CLO  FIN ACK / FIN ACK
 *   FIN  FIN ACK / -    RST  RST / -           others (INT, ...) nothing
 * (source / destination; RST and FIN put the flag on the source because Argus does not say
 * which side sent it).
 */
#ifndef BS_STORE_IMPORT_TCP_H
#define BS_STORE_IMPORT_TCP_H

#include <stdint.h>

/* Fills *orig and *resp from Zeek's history (may be NULL, "" or "-") or else conn_state
 * (may be NULL). orig_payload/resp_payload: the sides' payload bytes (PSH rule above, used
 * only with conn_state). Letters and states not in the tables add nothing (Zeek adds letters
 * now and then; the record is still a flow). Returns 0, or BS_EPARSE when the history holds a
 * character that is neither a letter nor '^' (both stay 0 then). */
int import_zeek_flags(const char *conn_state, const char *history, uint64_t orig_payload,
                      uint64_t resp_payload, uint8_t *orig, uint8_t *resp);

/* Fills *src and *dst from an Argus State (may be NULL). Returns 0, or BS_EPARSE when a half
 * of an "X_Y" state holds a character that is not one of F S R P A U E C (both stay 0 then).
 * Unknown single-word states give 0 and 0 and are not an error (Argus has many, most not
 * about TCP). */
int import_argus_flags(const char *state, uint8_t *src, uint8_t *dst);

#endif
