#!/usr/bin/env python3
# Test helper (tests/it/pkcs12.rs): writes a certificate-only PKCS#12 made by OpenSSL's own
# PKCS12_create() with a NULL password (libcrypto through ctypes). Usage: SRC.pem DST.p12 PBE
# (PBE: "default" for OpenSSL 3's AES-256/PBES2, or a name such as PBE-SHA1-3DES).
import ctypes, ctypes.util, sys
# A NULL password is what pyOpenSSL's PKCS12.export() passes when given no passphrase.
lib = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
lib.BIO_new_file.restype = ctypes.c_void_p
lib.BIO_new_file.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
lib.PEM_read_bio_X509.restype = ctypes.c_void_p
lib.PEM_read_bio_X509.argtypes = [ctypes.c_void_p] + [ctypes.c_void_p] * 3
lib.PKCS12_create.restype = ctypes.c_void_p
lib.PKCS12_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
    ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
lib.i2d_PKCS12_bio.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
lib.OBJ_txt2nid.argtypes = [ctypes.c_char_p]
src, dst, pbe = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3]
cert = lib.PEM_read_bio_X509(lib.BIO_new_file(src, b"r"), None, None, None)
nid = 0 if pbe == "default" else lib.OBJ_txt2nid(pbe.encode())
p12 = lib.PKCS12_create(None, None, None, cert, None, nid, nid, 0, 0, 0)
lib.BIO_free.argtypes = [ctypes.c_void_p]
out = lib.BIO_new_file(dst, b"wb")
assert p12 and lib.i2d_PKCS12_bio(out, p12) == 1 and lib.BIO_free(out) == 1
