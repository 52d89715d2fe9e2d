package org.saslauth.password;

/** The iteration count and salt a SCRAM client derives its SaltedPassword with ({@code i=}, {@code s=}). */
public record ScramSalt(int iterations, byte[] salt) {}
