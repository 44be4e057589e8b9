// OpenSSL's libcrypto: the MD5 digests that dataset downloads are checked against.
#include <openssl/evp.h>
