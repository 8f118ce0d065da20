#include "base/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/banned.h"

int sr_write_all(int fd, const void *data, size_t len, const char *what,
		 struct sr_err *err)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sr_fail(err, SR_EIO, "%s: write failed: %s", what,
				       strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return SR_OK;
}

int sr_fd_fsync(int fd, const char *path, struct sr_err *err)
{
	if (fsync(fd) != 0)
		return sr_fail(err, SR_EIO, "%s: fsync failed: %s", path,
			       strerror(errno));
	return SR_OK;
}

int sr_dir_fsync(const char *path, struct sr_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return sr_fail(err, SR_EIO, "%s: cannot open directory: %s",
			       path, strerror(errno));
	rc = sr_fd_fsync(fd, path, err);
	close(fd);
	return rc;
}

static int parent_dir(struct sr_buf *out, const char *path)
{
	const char *slash = strrchr(path, '/');

	sr_buf_reset(out);
	if (!slash)
		return sr_buf_addstr(out, ".");
	if (slash == path)
		return sr_buf_addstr(out, "/");
	return sr_buf_add(out, path, (size_t)(slash - path));
}

int sr_file_write_atomic(const char *path, const void *data, size_t len,
			 int mode, struct sr_err *err)
{
	struct sr_buf tmp, dir;
	unsigned char rnd[8];
	int fd = -1, rc;

	sr_buf_init(&tmp, 0);
	sr_buf_init(&dir, 0);
	randombytes_buf(rnd, sizeof(rnd));
	rc = sr_buf_addf(&tmp, "%s.tmp-%02x%02x%02x%02x%02x%02x%02x%02x", path,
			 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
			 rnd[6], rnd[7]);
	if (rc == SR_OK)
		rc = parent_dir(&dir, path);
	if (rc) {
		rc = sr_fail(err, rc, "%s: %s", path, sr_strerror(rc));
		goto out;
	}
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = sr_fail(err, SR_EIO, "%s: cannot create: %s", tmp.data,
			     strerror(errno));
		goto out;
	}
	rc = sr_write_all(fd, data, len, tmp.data, err);
	if (rc == SR_OK)
		rc = sr_fd_fsync(fd, tmp.data, err);
	if (close(fd) != 0 && rc == SR_OK)
		rc = sr_fail(err, SR_EIO, "%s: close failed: %s", tmp.data,
			     strerror(errno));
	fd = -1;
	if (rc)
		goto out;
	if (rename(tmp.data, path) != 0) {
		rc = sr_fail(err, SR_EIO, "%s: rename failed: %s", path,
			     strerror(errno));
		goto out;
	}
	rc = sr_dir_fsync(dir.data, err);
out:
	if (fd >= 0)
		close(fd);
	if (rc && tmp.len)
		unlink(tmp.data);
	sr_buf_release(&tmp);
	sr_buf_release(&dir);
	return rc;
}

int sr_file_read_all(const char *path, size_t max, struct sr_buf *out,
		     struct sr_err *err)
{
	char chunk[65536];
	size_t total = 0;
	int fd, rc = SR_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sr_fail(err, errno == ENOENT ? SR_ENOTFOUND : SR_EIO,
			       "%s: cannot open: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = sr_fail(err, SR_EIO, "%s: read failed: %s", path,
				     strerror(errno));
			break;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (max && total > max) {
			rc = sr_fail(err, SR_ELIMIT,
				     "%s: file is larger than the limit of %zu bytes",
				     path, max);
			break;
		}
		rc = sr_buf_add(out, chunk, (size_t)n);
		if (rc) {
			rc = sr_fail(err, rc, "%s: %s", path, sr_strerror(rc));
			break;
		}
	}
	sodium_memzero(chunk, sizeof(chunk));
	close(fd);
	return rc;
}

int sr_mkdir_p(const char *path, int mode, struct sr_err *err)
{
	struct sr_buf cur;
	int rc;

	sr_buf_init(&cur, 0);
	rc = sr_buf_addstr(&cur, path);
	if (rc)
		return sr_fail(err, rc, "%s: %s", path, sr_strerror(rc));
	for (char *p = cur.data + 1;; p++) {
		char saved = *p;
		if (saved != '/' && saved != '\0')
			continue;
		*p = '\0';
		if (mkdir(cur.data, (mode_t)mode) != 0 && errno != EEXIST) {
			rc = sr_fail(err, SR_EIO, "%s: cannot create directory: %s",
				     cur.data, strerror(errno));
			break;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	sr_buf_release(&cur);
	return rc;
}

int sr_rm_rf(const char *path, struct sr_err *err)
{
	struct stat st;
	DIR *dir;
	struct dirent *ent;
	struct sr_buf child;
	int rc = SR_OK;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? SR_OK :
			sr_fail(err, SR_EIO, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) != 0 && errno != ENOENT)
			return sr_fail(err, SR_EIO, "%s: cannot remove: %s",
				       path, strerror(errno));
		return SR_OK;
	}
	dir = opendir(path);
	if (!dir)
		return sr_fail(err, SR_EIO, "%s: cannot open directory: %s",
			       path, strerror(errno));
	sr_buf_init(&child, 0);
	while (rc == SR_OK && (ent = readdir(dir)) != NULL) {
		if (strcmp(ent->d_name, ".") == 0 ||
		    strcmp(ent->d_name, "..") == 0)
			continue;
		rc = sr_path_join(&child, path, ent->d_name);
		if (rc)
			rc = sr_fail(err, rc, "%s: %s", path, sr_strerror(rc));
		else
			rc = sr_rm_rf(child.data, err);
	}
	closedir(dir);
	sr_buf_release(&child);
	if (rc == SR_OK && rmdir(path) != 0 && errno != ENOENT)
		rc = sr_fail(err, SR_EIO, "%s: cannot remove directory: %s",
			     path, strerror(errno));
	return rc;
}

int sr_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int sr_path_join(struct sr_buf *out, const char *dir, const char *name)
{
	sr_buf_reset(out);
	return sr_buf_addf(out, "%s/%s", dir, name);
}
