/*
 * file.h - file helpers: atomic writes, bounded reads, directories.
 */
#ifndef SR_FILE_H
#define SR_FILE_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/*
 * Write len bytes to path atomically: a temp file in the same directory,
 * fsync, rename over path, fsync of the directory.  mode is the file mode
 * (e.g. 0600).  On failure path is unchanged and the temp file is gone.
 */
int sr_file_write_atomic(const char *path, const void *data, size_t len,
			 int mode, struct sr_err *err) SR_WUR;

/* Read a whole file into out (appended), failing with SR_ELIMIT over max. */
int sr_file_read_all(const char *path, size_t max, struct sr_buf *out,
		     struct sr_err *err) SR_WUR;

/* fsync a directory so renames and creations in it are durable. */
int sr_dir_fsync(const char *path, struct sr_err *err) SR_WUR;

/* fsync an open file descriptor, naming path in the error. */
int sr_fd_fsync(int fd, const char *path, struct sr_err *err) SR_WUR;

/* mkdir -p with the given mode for each created level. */
int sr_mkdir_p(const char *path, int mode, struct sr_err *err) SR_WUR;

/* rm -rf path (no error if it does not exist). */
int sr_rm_rf(const char *path, struct sr_err *err) SR_WUR;

/* Write all len bytes to fd, retrying on EINTR and short writes. */
int sr_write_all(int fd, const void *data, size_t len, const char *what,
		 struct sr_err *err) SR_WUR;

/* 1 if path exists (any type), 0 otherwise. */
int sr_path_exists(const char *path);

/* Join dir and name into out (reset first). */
int sr_path_join(struct sr_buf *out, const char *dir, const char *name) SR_WUR;

#endif
