package tsmigrate.schema;

import java.util.regex.Pattern;

import tsmigrate.config.MemorySize;

/**
 * How post-data's pg_restore runs: as many jobs as there are builds to run side by side (never more than
 * --workers), and an even share of the sort-memory budget for each. A lone index gets the whole budget, so
 * it sorts in memory instead of spilling to disk; many indexes build in parallel without the target ever
 * holding more than the budget in all.
 */
public record PostDataJobs(int jobs, long memKbPerJob) {
    /** A pg_restore --list entry that builds or checks something over a whole table (not a commented-out one). */
    private static final Pattern BUILD = Pattern.compile(
            "(?m)^\\d+; \\d+ \\d+ (INDEX|CONSTRAINT|FK CONSTRAINT|MATERIALIZED VIEW DATA) ");

    /** @param tocList pg_restore --list output of the post-data dump; budgetKb the sort memory for all jobs together */
    public static PostDataJobs of(String tocList, int workers, long budgetKb) {
        long builds = BUILD.matcher(tocList).results().count();
        int jobs = (int) Math.max(1, Math.min(workers, builds));
        return new PostDataJobs(jobs, Math.max(MemorySize.MIN_KB, budgetKb / jobs));
    }
}
