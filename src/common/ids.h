/*
 * ids.h - the two ids that every layer passes around, each with one size
 * and one name.
 *
 * The server id: 16 random bytes made once in DataDir/server-id.  A
 * client pins it at registration and checks it in every SERVER_HELLO;
 * discovery datagrams and the catalog's peer rows carry it.
 *
 * The blob id: 32 bytes, the client's keyed SHA-256 of a blob's
 * plaintext (crypto_hmac with a data key the server never sees).  The
 * server indexes, references and deduplicates blobs by it, and learns
 * nothing of their content from it.
 */
#ifndef GV_IDS_H
#define GV_IDS_H

#define SERVER_ID_LEN	16
#define SERVER_ID_HEX	(2 * SERVER_ID_LEN)	/* lowercase hex, as shown */
#define BLOB_ID_LEN	32

#endif
