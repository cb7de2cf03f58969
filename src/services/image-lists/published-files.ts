import type { EntityManager } from '../../db/database.ts';
import type { ImageId, PublishedImageListId } from '../../entities/ids.ts';
import { Image } from '../../entities/image.ts';
import { PublishedImageList } from '../../entities/published-image-list.ts';
import type { ImageStore } from '../images/image-store.ts';
import { PUBLISHED_LISTS_PATH } from './list-publisher.ts';

/**
 * PublishedFiles finds what the controller serves of the lists it publishes, to anyone: a
 * list's signed message, and the files of the images it names while they stay public and
 * available (an image made private or removed since is not served).
 */
export class PublishedFiles {
  readonly prefix = PUBLISHED_LISTS_PATH;
  private readonly fork: () => EntityManager;
  private readonly store: ImageStore;

  constructor(fork: () => EntityManager, store: ImageStore) {
    this.fork = fork;
    this.store = store;
  }

  async document(listId: string): Promise<string | null> {
    const list = await this.fork().findOne(PublishedImageList, {
      id: listId as PublishedImageListId,
    });
    return list?.signed ?? null;
  }

  async file(listId: string, imageId: string): Promise<{ path: string; size: bigint } | null> {
    const em = this.fork();
    const list = await em.findOne(PublishedImageList, { id: listId as PublishedImageListId });
    if (!list?.imageIds.includes(imageId)) return null;
    const image = await em.findOne(Image, {
      id: imageId as ImageId,
      state: 'AVAILABLE',
      public: true,
    });
    if (!image) return null;
    const size = await this.store.size(image.id, image.format);
    return size === null ? null : { path: this.store.pathOf(image.id, image.format), size };
  }
}
