/* The anchors of scripts/benchmark, compiled by it with cc: what the cheapest possible C program costs.
 *
 *   benchmark-floor tune SYSFS     what a verifying tuner cannot avoid: finding the iSCSI disks (list
 *                                  class/scsi_device, readlink each: a devpath under a session is iSCSI,
 *                                  list device/block), then seven file operations per disk (read type;
 *                                  read, write, read back timeout; read, write, read back queue/scheduler)
 *   benchmark-floor shell SYSFS    the old udev rule: one /bin/sh per device running
 *                                  echo 90 > …/timeout; echo none > …/queue/scheduler (no check, no read back)
 *   benchmark-floor idle ROOT      a keeper's floor: one read of ROOT/proc/diskstats per second, forever
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int read_file(const char *path, char *buffer, size_t size) {
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	ssize_t count = read(fd, buffer, size - 1);
	close(fd);
	if (count < 0) return -1;
	buffer[count] = 0;
	return (int)count;
}

static int write_file(const char *path, const char *value) {
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0) return -1;
	ssize_t count = write(fd, value, strlen(value));
	close(fd);
	return count == (ssize_t)strlen(value) ? 0 : -1;
}

/* The first block device name under DEVICE/block, into name; 0 when there is one. */
static int block_name(const char *device, char *name, size_t size) {
	char path[4096];
	snprintf(path, sizeof path, "%s/block", device);
	DIR *dir = opendir(path);
	if (!dir) return -1;
	struct dirent *entry;
	int found = -1;
	while ((entry = readdir(dir))) {
		if (entry->d_name[0] == '.') continue;
		snprintf(name, size, "%s", entry->d_name);
		found = 0;
		break;
	}
	closedir(dir);
	return found;
}

static int tune(const char *device, const char *disk) {
	char path[4096], value[4096];
	snprintf(path, sizeof path, "%s/type", device);
	if (read_file(path, value, sizeof value) < 0) return -1;
	int type = atoi(value);
	if (type != 0 && type != 7 && type != 14) return 0;
	snprintf(path, sizeof path, "%s/timeout", device);
	if (read_file(path, value, sizeof value) < 0) return -1;
	if (atoi(value) != 90) {
		if (write_file(path, "90") < 0 || read_file(path, value, sizeof value) < 0 || atoi(value) != 90) return -1;
	}
	snprintf(path, sizeof path, "%s/block/%s/queue/scheduler", device, disk);
	if (read_file(path, value, sizeof value) < 0) return -1;
	if (!strstr(value, "[none]") && strncmp(value, "none", 4) != 0) {
		if (write_file(path, "none") < 0 || read_file(path, value, sizeof value) < 0) return -1;
	}
	return 0;
}

static int shell(const char *device, const char *disk) {
	char command[8192];
	snprintf(command, sizeof command, "echo 90 > '%s/timeout'; echo none > '%s/block/%s/queue/scheduler'", device,
	         device, disk);
	pid_t pid = fork();
	if (pid < 0) return -1;
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int idle(const char *root) {
	char path[4096];
	static char buffer[1 << 20];
	snprintf(path, sizeof path, "%s/proc/diskstats", root);
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		next.tv_sec += 1;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0) {}
		if (read_file(path, buffer, sizeof buffer) < 0) return 1;
	}
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: %s tune|shell SYSFS, or idle ROOT\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "idle") == 0) return idle(argv[2]);
	int (*each)(const char *, const char *) = strcmp(argv[1], "shell") == 0 ? shell : tune;
	char path[4096], device[4096], disk[256];
	snprintf(path, sizeof path, "%s/class/scsi_device", argv[2]);
	DIR *dir = opendir(path);
	if (!dir) return 1;
	struct dirent *entry;
	int failed = 0;
	while ((entry = readdir(dir))) {
		if (entry->d_name[0] == '.') continue;
		/* class/scsi_device/H:C:T:L -> ../../devices/…/sessionN/…/H:C:T:L/scsi_device/H:C:T:L */
		char link[4096], target[4096];
		snprintf(link, sizeof link, "%s/%s", path, entry->d_name);
		ssize_t length = readlink(link, target, sizeof target - 1);
		if (length < 0) continue;
		target[length] = 0;
		if (!strstr(target, "/session")) continue;
		for (int up = 0; up < 2; up++) {
			char *slash = strrchr(target, '/');
			if (slash) *slash = 0;
		}
		snprintf(device, sizeof device, "%s/%s", path, target);
		if (block_name(device, disk, sizeof disk) < 0) continue;
		if (each(device, disk) < 0) failed++;
	}
	closedir(dir);
	return failed ? 1 : 0;
}
