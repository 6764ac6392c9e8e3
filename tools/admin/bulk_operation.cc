#include "tools/admin/bulk_operation.h"

#include <algorithm>

#include "queue/record_filter.h"

namespace outpost::admin {
namespace {

struct Run {
  Dispatcher& dispatcher;
  queue::QueueStore& store;
  BulkRequest req;
  BatchAction action;
  std::weak_ptr<bool> alive;
  std::function<void(StatusOr<BulkResult>)> done;
  BulkResult result;
  size_t next_id = 0;  // ids mode: position of the next batch

  bool Alive() const {
    auto a = alive.lock();
    return a && *a;
  }
};

void Step(std::shared_ptr<Run> run);

void Add(queue::OpCounts& sum, const queue::OpCounts& c) {
  sum.messages += c.messages;
  sum.changed += c.changed;
  sum.skipped += c.skipped;
  sum.in_flight += c.in_flight;
  sum.not_found += c.not_found;
}

// Counts what a dry run would touch among `messages`.
void CountMatches(Run& run, const std::vector<const queue::QueuedMessage*>& messages) {
  for (const auto* m : messages) {
    uint64_t n = 0;
    for (const auto& r : m->recipients) {
      n += !run.req.filter || queue::RecipientMatches(run.req.filter->filter, r) ? 1 : 0;
    }
    if (n == 0) continue;
    ++run.result.counts.messages;
    run.result.matched_recipients += n;
  }
}

// Applies the batch made of `ids`, then continues with the next one when `more`, else
// reports `cursor` (where a later request continues; "" = done).
void Apply(std::shared_ptr<Run> run, std::vector<uint64_t> ids, std::string cursor, bool more) {
  ++run->result.batches;
  auto continue_or_finish = [run, cursor, more]() {
    run->result.counts.cursor = more ? "" : cursor;
    if (!more) {
      run->done(run->result);
      return;
    }
    // Yield to the loop between batches: other requests and deliveries interleave.
    run->dispatcher.Post([run]() { Step(run); });
  };
  if (ids.empty() || run->req.dry_run) return continue_or_finish();
  queue::Selection sel;
  sel.max_messages = ids.size();
  sel.ids = std::move(ids);
  if (run->req.filter) sel.filter = run->req.filter->filter;
  run->action(std::move(sel), [run, continue_or_finish](StatusOr<queue::OpCounts> c) {
    if (!run->Alive()) return;
    if (!c.ok()) return run->done(c.status());
    Add(run->result.counts, *c);
    continue_or_finish();
  });
}

void StepIds(std::shared_ptr<Run> run) {
  const auto& all = run->req.ids;
  size_t end = std::min(all.size(), run->next_id + std::max<size_t>(run->req.batch, 1));
  std::vector<uint64_t> ids(all.begin() + run->next_id, all.begin() + end);
  run->next_id = end;
  if (run->req.dry_run) {
    std::vector<queue::QueuedMessage> loaded;
    for (uint64_t id : ids) {
      auto m = run->store.Get(id);
      if (m.ok()) {
        loaded.push_back(std::move(*m));
      } else if (m.status().code() == Status::Code::kNotFound) {
        ++run->result.counts.not_found;
      } else {
        return run->done(m.status());
      }
    }
    std::vector<const queue::QueuedMessage*> ptrs;
    for (const auto& m : loaded) ptrs.push_back(&m);
    CountMatches(*run, ptrs);
  }
  // Explicit ids are always done completely (single_page concerns filter walks).
  const bool more = end < all.size();
  Apply(run, std::move(ids), "", more);
}

void StepFilter(std::shared_ptr<Run> run) {
  const FilterSpec& spec = *run->req.filter;
  queue::ListOptions lo;
  lo.filter = spec.filter;
  lo.limit = std::max<size_t>(run->req.batch, 1);
  // A sparse filter must not hold the loop: each batch examines a bounded number of messages
  // (every candidate is loaded to test its recipients) and the walk continues next batch.
  lo.max_scan = std::max<size_t>(lo.limit * 2, 1000);
  lo.cursor = run->req.cursor;
  auto page = run->store.List(lo);
  if (!page.ok()) return run->done(page.status());
  std::vector<uint64_t> ids;
  std::vector<const queue::QueuedMessage*> matching;
  // List returns only messages with at least one recipient matching the filter.
  for (const auto& m : page->items) {
    ids.push_back(m.message.id());
    matching.push_back(&m);
  }
  if (run->req.dry_run) CountMatches(*run, matching);
  run->req.cursor = page->cursor;
  const bool more = !page->cursor.empty() && !run->req.single_page;
  Apply(run, std::move(ids), page->cursor, more);
}

void Step(std::shared_ptr<Run> run) {
  if (!run->Alive()) return;
  if (run->req.filter && run->req.ids.empty()) {
    StepFilter(std::move(run));
  } else {
    StepIds(std::move(run));
  }
}

}  // namespace

void RunBulk(Dispatcher& dispatcher, queue::QueueStore& store, BulkRequest request,
             BatchAction action, std::weak_ptr<bool> alive,
             std::function<void(StatusOr<BulkResult>)> done) {
  auto run = std::shared_ptr<Run>(new Run{dispatcher, store, std::move(request), std::move(action),
                                          std::move(alive), std::move(done), {}, 0});
  Step(std::move(run));
}

}  // namespace outpost::admin
